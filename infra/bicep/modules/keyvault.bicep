// Key Vault in RBAC mode (no access policies): the app's identity reads secrets as
// Key Vault Secrets User (rbac.bicep). It holds dq-pg-dsn (the DQ_PG_DSN Key Vault reference)
// and the tenants' secret://name values such as dq-mask-salt; both are written after the
// deployment (docs/deploy.md), never by this template.

@description('Key Vault name (3-24 letters, digits and hyphens).')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region.')
param location string

@description('Tags applied to every resource.')
param tags object = {}

@description('Days a deleted vault or secret is kept before it can be purged (fixed once created).')
@minValue(7)
@maxValue(90)
param softDeleteRetentionInDays int = 90

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: softDeleteRetentionInDays
    enablePurgeProtection: true
    enabledForDeployment: false
    enabledForTemplateDeployment: false
    enabledForDiskEncryption: false
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

@description('Resource id (scope of the Key Vault Secrets User assignment).')
output id string = vault.id

@description('Vault name.')
output name string = vault.name

@description('Vault URI, ends with a slash: DQ_KEY_VAULT_URL and the base of Key Vault references.')
output uri string = vault.properties.vaultUri
