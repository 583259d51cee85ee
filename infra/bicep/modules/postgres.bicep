// PostgreSQL Flexible Server for the contract registry (ContractStore). Microsoft Entra
// authentication only: local (built-in) logins are disabled, so no credential exists to leak.
// The app's managed identity is the Entra administrator: it runs the registry's migrations
// (schema DQ_PG_SCHEMA) and connects as the role named after the identity.

@description('Server name (globally unique, lower-case letters, digits and hyphens).')
param name string

@description('Azure region.')
param location string

@description('Tags applied to every resource.')
param tags object = {}

@description('Compute SKU, e.g. Standard_B1ms (Burstable) or Standard_D2ds_v5 (GeneralPurpose).')
param skuName string = 'Standard_B1ms'

@description('Compute tier, matching skuName.')
@allowed([
  'Burstable'
  'GeneralPurpose'
  'MemoryOptimized'
])
param skuTier string = 'Burstable'

@description('PostgreSQL major version.')
@allowed([
  '15'
  '16'
])
param version string = '15'

@description('Storage size in GiB.')
@minValue(32)
param storageSizeGB int = 32

@description('Days of point-in-time backups.')
@minValue(7)
@maxValue(35)
param backupRetentionDays int = 7

@description('Geo-redundant backups (fixed at creation).')
param geoRedundantBackup bool = false

@description('Zone-redundant high availability (not available on the Burstable tier).')
param highAvailability bool = false

@description('Let Azure services reach the server (Flex Consumption without a virtual network has no fixed outbound addresses). Entra authentication is still required.')
param allowAzureServices bool = true

@description('Database that holds the registry schema.')
param databaseName string = 'dq'

@description('Object (principal) id of the managed identity that becomes the Entra administrator.')
param adminPrincipalId string

@description('Name of that managed identity: its PostgreSQL role name.')
param adminPrincipalName string

resource server 'Microsoft.DBforPostgreSQL/flexibleServers@2024-08-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: skuName
    tier: skuTier
  }
  properties: {
    version: version
    authConfig: {
      activeDirectoryAuth: 'Enabled'
      passwordAuth: 'Disabled'
      tenantId: subscription().tenantId
    }
    storage: {
      storageSizeGB: storageSizeGB
      autoGrow: 'Enabled'
    }
    backup: {
      backupRetentionDays: backupRetentionDays
      geoRedundantBackup: geoRedundantBackup ? 'Enabled' : 'Disabled'
    }
    highAvailability: {
      mode: highAvailability ? 'ZoneRedundant' : 'Disabled'
    }
    network: {
      publicNetworkAccess: 'Enabled'
    }
  }
}

resource entraAdmin 'Microsoft.DBforPostgreSQL/flexibleServers/administrators@2024-08-01' = {
  parent: server
  name: adminPrincipalId
  properties: {
    principalType: 'ServicePrincipal'
    principalName: adminPrincipalName
    tenantId: subscription().tenantId
  }
}

// The server accepts one configuration change at a time: the children are created in turn.
resource azureServices 'Microsoft.DBforPostgreSQL/flexibleServers/firewallRules@2024-08-01' = if (allowAzureServices) {
  parent: server
  name: 'AllowAllAzureServicesAndResourcesWithinAzureIps'
  properties: {
    startIpAddress: '0.0.0.0'
    endIpAddress: '0.0.0.0'
  }
  dependsOn: [
    entraAdmin
  ]
}

resource database 'Microsoft.DBforPostgreSQL/flexibleServers/databases@2024-08-01' = {
  parent: server
  name: databaseName
  properties: {
    charset: 'UTF8'
    collation: 'en_US.utf8'
  }
  dependsOn: [
    entraAdmin
    azureServices
  ]
}

@description('Server resource id.')
output id string = server.id

@description('Server name.')
output name string = server.name

@description('Host name for the DSN (host=...).')
output fqdn string = server.properties.fullyQualifiedDomainName

@description('Database name for the DSN (dbname=...).')
output databaseName string = database.name
