// dev: smallest footprint; resources may be recreated freely.
using 'main.bicep'

param environmentName = 'dev'
param namePrefix = 'dq'
param tags = {
  costCenter: 'dq-platform-dev'
}

param storageSkuName = 'Standard_LRS'
param blobDeleteRetentionDays = 7
param logRetentionInDays = 30
param keyVaultSoftDeleteRetentionInDays = 7

param postgresSkuName = 'Standard_B1ms'
param postgresSkuTier = 'Burstable'
param postgresStorageSizeGB = 32
param postgresBackupRetentionDays = 7
param postgresGeoRedundantBackup = false
param postgresHighAvailability = false

param functionMaximumInstanceCount = 40  // the lowest maximum Flex Consumption accepts
param functionInstanceMemoryMB = 2048

// The API's Entra ID app registration (docs/security.md): its client id, from the shell.
param apiClientId = readEnvironmentVariable('DQ_API_CLIENT_ID')
