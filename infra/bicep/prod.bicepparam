// prod: general-purpose PostgreSQL with zone-redundant HA and geo-redundant backups,
// zone-redundant storage, longer retention everywhere.
using 'main.bicep'

param environmentName = 'prod'
param namePrefix = 'dq'
param tags = {
  costCenter: 'dq-platform-prod'
}

param storageSkuName = 'Standard_ZRS'
param blobDeleteRetentionDays = 30
param logRetentionInDays = 90
param keyVaultSoftDeleteRetentionInDays = 90

param postgresSkuName = 'Standard_D2ds_v5'
param postgresSkuTier = 'GeneralPurpose'
param postgresStorageSizeGB = 128
param postgresBackupRetentionDays = 35
param postgresGeoRedundantBackup = true
param postgresHighAvailability = true

param functionMaximumInstanceCount = 100
param functionInstanceMemoryMB = 4096

// The API's Entra ID app registration (docs/security.md): its client id, from the shell.
param apiClientId = readEnvironmentVariable('DQ_API_CLIENT_ID')
