// test: the dev shape with a little more headroom, for promotion rehearsals.
using 'main.bicep'

param environmentName = 'test'
param namePrefix = 'dq'
param tags = {
  costCenter: 'dq-platform-test'
}

param storageSkuName = 'Standard_LRS'
param blobDeleteRetentionDays = 7
param logRetentionInDays = 30
param keyVaultSoftDeleteRetentionInDays = 30

param postgresSkuName = 'Standard_B2s'
param postgresSkuTier = 'Burstable'
param postgresStorageSizeGB = 32
param postgresBackupRetentionDays = 14
param postgresGeoRedundantBackup = false
param postgresHighAvailability = false

param functionMaximumInstanceCount = 40
param functionInstanceMemoryMB = 2048

// The API's Entra ID app registration (docs/security.md): its client id, from the shell.
param apiClientId = readEnvironmentVariable('DQ_API_CLIENT_ID')
