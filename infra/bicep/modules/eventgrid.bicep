// Event Grid system topic on the storage account. Blob-created events reach the app's
// Event Grid blob trigger (Flex Consumption has no polling blob trigger) through the
// subscription in eventgrid-subscription.bicep, which is deployed in a second step: it needs
// the app's blobs_extension system key, which exists only once the app's code (with its
// blob trigger) has been published and the host has started. See docs/deploy.md.

@description('System topic name.')
param name string

@description('Azure region, the same as the storage account.')
param location string

@description('Tags applied to every resource.')
param tags object = {}

@description('Resource id of the storage account whose events the topic publishes.')
param storageAccountId string

// The topic's own identity writes undeliverable events to the dead-letter container (the one
// role it holds, rbac.bicep): Event Grid never needs a storage key or the app's identity.
resource systemTopic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: name
  location: location
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    source: storageAccountId
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

@description('System topic resource id.')
output id string = systemTopic.id

@description('System topic name (systemTopicName of eventgrid-subscription.bicep).')
output name string = systemTopic.name

@description('Principal id of the topic\'s system-assigned identity (it writes the dead letters).')
output principalId string = systemTopic.identity.principalId
