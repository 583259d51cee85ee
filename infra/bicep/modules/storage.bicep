// Storage account for the Functions host (AzureWebJobsStorage, Durable task hub queues and
// tables), the Flex Consumption deployment package, tenant blobs (one container per tenant,
// created by the app), lineage tables and Event Grid's dead letters. Shared keys are disabled: Entra ID only.

@description('Storage account name (3-24 lower-case letters and digits).')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region.')
param location string

@description('Tags applied to every resource.')
param tags object = {}

@description('Replication, e.g. Standard_LRS for dev, Standard_ZRS for prod.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param skuName string = 'Standard_LRS'

@description('Container that holds the Flex Consumption deployment package.')
param deploymentContainerName string

@description('Container where Event Grid puts the blob-created events it could not deliver (dead letters).')
param deadLetterContainerName string

@description('Days a deleted blob or container can be restored.')
@minValue(1)
@maxValue(365)
param deleteRetentionDays int = 7

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: deleteRetentionDays
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: deleteRetentionDays
    }
  }
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

// Event Grid writes here (with its system topic's identity, rbac.bicep) every blob-created event
// it could not deliver to the app after its retries: docs/deploy.md says how to replay them.
resource deadLetterContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deadLetterContainerName
  properties: {
    publicAccess: 'None'
  }
}

@description('Resource id (scope of the storage role assignments, source of the Event Grid system topic).')
output id string = account.id

@description('Account name: DQ_STORAGE_ACCOUNT.')
output name string = account.name

@description('Blob endpoint, ends with a slash.')
output blobEndpoint string = account.properties.primaryEndpoints.blob

@description('Queue endpoint, ends with a slash.')
output queueEndpoint string = account.properties.primaryEndpoints.queue

@description('Table endpoint, ends with a slash.')
output tableEndpoint string = account.properties.primaryEndpoints.table

@description('Name of the deployment package container.')
output deploymentContainerName string = deploymentContainer.name

@description('Name of the Event Grid dead-letter container.')
output deadLetterContainerName string = deadLetterContainer.name
