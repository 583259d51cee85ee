// DQ platform: one environment (dev, test or prod) in one resource group.
//
//   az deployment group create -g RG -f infra/bicep/main.bicep -p infra/bicep/dev.bicepparam
//
// Then publish the app and create the Event Grid subscription (second step,
// modules/eventgrid-subscription.bicep) as docs/deploy.md describes. No parameter is a
// secret: the app reaches every service with its managed identity, and the PostgreSQL DSN
// and tenant secrets are written to Key Vault after the deployment.

targetScope = 'resourceGroup'

@description('Environment: sets DQ_ENVIRONMENT, the Durable task hub and the resource names.')
@allowed([
  'dev'
  'test'
  'prod'
])
param environmentName string

@description('Azure region of every resource (one that offers Flex Consumption).')
param location string = resourceGroup().location

@description('Short lower-case prefix of every resource name (letters, digits, hyphens).')
@minLength(2)
@maxLength(8)
param namePrefix string = 'dq'

@description('Tags added to every resource.')
param tags object = {}

@description('Storage replication.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param storageSkuName string = 'Standard_LRS'

@description('Days a deleted blob or container can be restored.')
@minValue(1)
@maxValue(365)
param blobDeleteRetentionDays int = 7

@description('Days of retention in Log Analytics.')
@minValue(30)
@maxValue(730)
param logRetentionInDays int = 30

@description('Key Vault soft-delete retention in days (fixed once the vault exists).')
@minValue(7)
@maxValue(90)
param keyVaultSoftDeleteRetentionInDays int = 90

@description('PostgreSQL compute SKU.')
param postgresSkuName string = 'Standard_B1ms'

@description('PostgreSQL compute tier, matching postgresSkuName.')
@allowed([
  'Burstable'
  'GeneralPurpose'
  'MemoryOptimized'
])
param postgresSkuTier string = 'Burstable'

@description('PostgreSQL storage in GiB.')
@minValue(32)
param postgresStorageSizeGB int = 32

@description('PostgreSQL point-in-time backup retention in days.')
@minValue(7)
@maxValue(35)
param postgresBackupRetentionDays int = 7

@description('PostgreSQL geo-redundant backups (fixed at creation).')
param postgresGeoRedundantBackup bool = false

@description('PostgreSQL zone-redundant high availability (not on Burstable).')
param postgresHighAvailability bool = false

@description('Database of the contract registry.')
param postgresDatabaseName string = 'dq'

@description('Schema of the contract registry: DQ_PG_SCHEMA.')
param pgSchema string = 'dq'

@description('Client id of the API app registration in Entra ID (docs/security.md): tokens for api://<id> or <id> are accepted.')
@minLength(1)
param apiClientId string

@description('DQ tenant by Entra group object id, applied to the groups claim: DQ_AUTH_GROUP_TENANTS.')
param authGroupTenants object = {}

// Flex Consumption accepts a maximum instance count from 40 to 1000 (the plan's documented
// range; the newest docs also allow less, older ones refuse it: 40 is accepted by both). It
// applies to each scale group: HTTP, blob (Event Grid) and Durable functions scale apart.
@description('Most Function App instances per scale group (40 to 1000, the Flex Consumption range).')
@minValue(40)
@maxValue(1000)
param functionMaximumInstanceCount int = 40

@description('Memory per Function App instance.')
@allowed([
  512
  2048
  4096
])
param functionInstanceMemoryMB int = 2048

var token = uniqueString(resourceGroup().id, namePrefix, environmentName)
var prefix = toLower(namePrefix)
var compactPrefix = replace(prefix, '-', '')
var allTags = union(tags, {
  application: 'dq-platform'
  environment: environmentName
})

var identityName = 'id-${prefix}-${environmentName}'
var storageAccountName = take('st${compactPrefix}${environmentName}${token}', 24)
var deploymentContainerName = 'app-package'
var deadLetterContainerName = 'eventgrid-deadletter'
var logAnalyticsName = 'log-${prefix}-${environmentName}-${token}'
var appInsightsName = 'appi-${prefix}-${environmentName}-${token}'
var keyVaultName = take('kv${compactPrefix}${environmentName}${token}', 24)
var postgresServerName = 'psql-${prefix}-${environmentName}-${token}'
var planName = 'plan-${prefix}-${environmentName}-${token}'
var functionAppName = 'func-${prefix}-${environmentName}-${token}'
var systemTopicName = 'evgt-${prefix}-${environmentName}-storage'
var taskHubName = 'dq${environmentName}'

module identity 'modules/identity.bicep' = {
  name: 'identity'
  params: {
    name: identityName
    location: location
    tags: allTags
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    name: storageAccountName
    location: location
    tags: allTags
    skuName: storageSkuName
    deploymentContainerName: deploymentContainerName
    deadLetterContainerName: deadLetterContainerName
    deleteRetentionDays: blobDeleteRetentionDays
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    logAnalyticsName: logAnalyticsName
    appInsightsName: appInsightsName
    location: location
    tags: allTags
    retentionInDays: logRetentionInDays
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  params: {
    name: keyVaultName
    location: location
    tags: allTags
    softDeleteRetentionInDays: keyVaultSoftDeleteRetentionInDays
  }
}

module postgres 'modules/postgres.bicep' = {
  name: 'postgres'
  params: {
    name: postgresServerName
    location: location
    tags: allTags
    skuName: postgresSkuName
    skuTier: postgresSkuTier
    storageSizeGB: postgresStorageSizeGB
    backupRetentionDays: postgresBackupRetentionDays
    geoRedundantBackup: postgresGeoRedundantBackup
    highAvailability: postgresHighAvailability
    databaseName: postgresDatabaseName
    adminPrincipalId: identity.outputs.principalId
    adminPrincipalName: identity.outputs.name
  }
}

module rbac 'modules/rbac.bicep' = {
  name: 'rbac'
  params: {
    identityPrincipalId: identity.outputs.principalId
    storageAccountName: storage.outputs.name
    keyVaultName: keyVault.outputs.name
    appInsightsName: monitoring.outputs.appInsightsName
    eventGridPrincipalId: eventGrid.outputs.principalId
    deadLetterContainerName: storage.outputs.deadLetterContainerName
  }
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  params: {
    name: functionAppName
    planName: planName
    location: location
    tags: union(allTags, {
      'azd-service-name': 'api'
    })
    environmentName: environmentName
    taskHubName: taskHubName
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    identityName: identity.outputs.name
    storageAccountName: storage.outputs.name
    blobEndpoint: storage.outputs.blobEndpoint
    queueEndpoint: storage.outputs.queueEndpoint
    tableEndpoint: storage.outputs.tableEndpoint
    deploymentContainerName: storage.outputs.deploymentContainerName
    appInsightsName: monitoring.outputs.appInsightsName
    keyVaultUri: keyVault.outputs.uri
    pgSchema: pgSchema
    authAudiences: 'api://${apiClientId},${apiClientId}'
    authGroupTenants: authGroupTenants
    maximumInstanceCount: functionMaximumInstanceCount
    instanceMemoryMB: functionInstanceMemoryMB
  }
  // The host reaches storage with the identity from its first start: roles first.
  dependsOn: [
    rbac
  ]
}

module eventGrid 'modules/eventgrid.bicep' = {
  name: 'eventgrid'
  params: {
    name: systemTopicName
    location: location
    tags: allTags
    storageAccountId: storage.outputs.id
  }
}

module workbook 'modules/workbook.bicep' = {
  name: 'workbook'
  params: {
    displayName: 'DQ runs per tenant (${environmentName})'
    location: location
    tags: allTags
    appInsightsId: monitoring.outputs.appInsightsId
  }
}

@description('Function App name: functionAppName of modules/eventgrid-subscription.bicep, target of func publish.')
output FUNCTION_APP_NAME string = functionApp.outputs.name

@description('Function App host name.')
output FUNCTION_APP_HOSTNAME string = functionApp.outputs.defaultHostName

@description('Event Grid system topic: systemTopicName of modules/eventgrid-subscription.bicep.')
output EVENT_GRID_SYSTEM_TOPIC_NAME string = eventGrid.outputs.name

@description('Container of Event Grid\'s undeliverable events (deadLetterContainerName of modules/eventgrid-subscription.bicep).')
output DEAD_LETTER_CONTAINER_NAME string = storage.outputs.deadLetterContainerName

@description('Managed identity name: the PostgreSQL user the app signs in as (DQ_PG_USER) and the user in the DSN.')
output IDENTITY_NAME string = identity.outputs.name

@description('Managed identity client id.')
output IDENTITY_CLIENT_ID string = identity.outputs.clientId

@description('Storage account name.')
output STORAGE_ACCOUNT_NAME string = storage.outputs.name

@description('Key Vault name (dq-pg-dsn and dq-mask-salt go here).')
output KEY_VAULT_NAME string = keyVault.outputs.name

@description('Key Vault URI.')
output KEY_VAULT_URI string = keyVault.outputs.uri

@description('PostgreSQL host for the DSN.')
output POSTGRES_HOST string = postgres.outputs.fqdn

@description('PostgreSQL database for the DSN.')
output POSTGRES_DATABASE string = postgres.outputs.databaseName

@description('Application Insights component name.')
output APPLICATION_INSIGHTS_NAME string = monitoring.outputs.appInsightsName

@description('Durable Functions task hub of this environment.')
output TASKHUB_NAME string = taskHubName
