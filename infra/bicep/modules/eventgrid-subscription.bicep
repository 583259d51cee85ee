// Second deployment step (after the app's code is published; docs/deploy.md): the
// blob-created subscription from the storage account's system topic to the app's Event Grid
// trigger (triggers/blob_events.py, function on_blob_created). Deploy this file on its own,
// after main.bicep:
//
//   az deployment group create -g RG -f infra/bicep/modules/eventgrid-subscription.bicep \
//     -p systemTopicName=<EVENT_GRID_SYSTEM_TOPIC_NAME output> functionAppName=<FUNCTION_APP_NAME output>
//
// Events go to the Event Grid extension's endpoint (/runtime/webhooks/eventgrid), not to a
// blob trigger: every tenant has its own container, and a blob trigger watches one.
// The webhook needs the app's eventgrid_extension system key. It is looked up here, at
// deployment time, from the app itself (listKeys on host/default), so the key is never a
// parameter, never typed on a command line and never stored in a parameter file. The key
// exists only once the host has started with an Event Grid trigger registered: deploying
// earlier fails on the lookup. Events it cannot deliver go to the dead-letter container that
// main.bicep created, written with the system topic's own identity.

@description('Name of the Event Grid system topic on the storage account (main.bicep output EVENT_GRID_SYSTEM_TOPIC_NAME).')
param systemTopicName string

@description('Name of the Function App (main.bicep output FUNCTION_APP_NAME).')
param functionAppName string

@description('Name of the Event Grid trigger function in the app, as registered (triggers/blob_events.py).')
param eventGridFunctionName string = 'on_blob_created'

@description('Name of the event subscription.')
param subscriptionName string = 'dq-blob-created'

@description('Only blobs under this subject prefix are delivered: the tenant containers (dq-<tenant>).')
param subjectBeginsWith string = '/blobServices/default/containers/dq-'

@description('Subjects containing any of these parts are not delivered: the folders the app writes itself (run outputs, uploads it starts itself, profiles, bundles).')
param excludedSubjectParts array = [
  '/blobs/runs/'
  '/blobs/uploads/'
  '/blobs/profiles/'
  '/blobs/bundles/'
]

@description('Container of the storage account (the topic\'s source) where undeliverable events are kept: main.bicep\'s dead-letter container (output DEAD_LETTER_CONTAINER_NAME).')
param deadLetterContainerName string = 'eventgrid-deadletter'

@description('Delivery attempts before an event goes to the dead-letter container.')
@minValue(1)
@maxValue(30)
param maxDeliveryAttempts int = 30

@description('Minutes an undelivered event is retried before it goes to the dead-letter container.')
@minValue(1)
@maxValue(1440)
param eventTimeToLiveInMinutes int = 1440

resource systemTopic 'Microsoft.EventGrid/systemTopics@2022-06-15' existing = {
  name: systemTopicName
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

var eventGridExtensionKey = listKeys('${functionApp.id}/host/default', '2024-04-01').systemKeys.eventgrid_extension
var webhookUrl = 'https://${functionApp.properties.defaultHostName}/runtime/webhooks/eventgrid?functionName=${eventGridFunctionName}&code=${eventGridExtensionKey}'

resource blobCreated 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = {
  parent: systemTopic
  name: subscriptionName
  properties: {
    destination: {
      endpointType: 'WebHook'
      properties: {
        endpointUrl: webhookUrl
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    eventDeliverySchema: 'EventGridSchema'
    filter: {
      includedEventTypes: [
        'Microsoft.Storage.BlobCreated'
      ]
      subjectBeginsWith: subjectBeginsWith
      advancedFilters: [for part in excludedSubjectParts: {
        operatorType: 'StringNotContains'
        key: 'subject'
        values: [
          part
        ]
      }]
    }
    retryPolicy: {
      maxDeliveryAttempts: maxDeliveryAttempts
      eventTimeToLiveInMinutes: eventTimeToLiveInMinutes
    }
    // An event whose attempts or time to live ran out (the app was down, the registry unreachable
    // for a day) is kept, not dropped: written by the topic's own identity (Storage Blob Data
    // Contributor on this container only, rbac.bicep) to the storage account the topic watches.
    // docs/deploy.md: how to replay it.
    deadLetterWithResourceIdentity: {
      identity: {
        type: 'SystemAssigned'
      }
      deadLetterDestination: {
        endpointType: 'StorageBlob'
        properties: {
          resourceId: systemTopic.properties.source
          blobContainerName: deadLetterContainerName
        }
      }
    }
  }
}

@description('Event subscription resource id.')
output id string = blobCreated.id
