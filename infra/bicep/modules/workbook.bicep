// Azure Monitor workbook: runs, failures, stage durations, action outcomes and volumes per
// tenant, read from Application Insights (dependencies, customMetrics, traces, requests).
// The content is workbook.json; its first text block states the telemetry contract (span
// names dq.run, dq.stage, dq.action, the metrics, and the customDimensions tenant, run_id,
// stage, status, action_id) that the app emits (monitoring/telemetry.py, docs/monitoring.md).

@description('Display name of the workbook.')
param displayName string

@description('Azure region.')
param location string

@description('Tags applied to every resource.')
param tags object = {}

@description('Resource id of the Application Insights component the queries run against.')
param appInsightsId string

var content = loadJsonContent('workbook.json')

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: guid(resourceGroup().id, appInsightsId, 'dq-runs-workbook')
  location: location
  tags: union(tags, {
    'hidden-title': displayName
  })
  kind: 'shared'
  properties: {
    displayName: displayName
    category: 'workbook'
    sourceId: appInsightsId
    serializedData: string(union(content, {
      fallbackResourceIds: [
        appInsightsId
      ]
    }))
  }
}

@description('Workbook resource id.')
output id string = workbook.id
