// The Function App on a Flex Consumption (FC1) plan: Python 3.11, the user-assigned identity
// attached, and every app setting the code reads. Identity-based connections only: no
// connection string, account key or other secret is set here; DQ_PG_DSN is a Key Vault
// reference resolved by the platform with the same identity.

@description('Function App name (globally unique).')
param name string

@description('Flex Consumption plan name.')
param planName string

@description('Azure region (one that offers Flex Consumption).')
param location string

@description('Tags applied to every resource.')
param tags object = {}

@description('dev, test or prod: DQ_ENVIRONMENT.')
@allowed([
  'dev'
  'test'
  'prod'
])
param environmentName string

@description('Durable Functions task hub (host.json reads %TASKHUB_NAME%): one per environment.')
param taskHubName string

@description('Resource id of the user-assigned managed identity.')
param identityId string

@description('Client id of that identity (AZURE_CLIENT_ID, AzureWebJobsStorage__clientId).')
param identityClientId string

@description('Name of that identity: its PostgreSQL role, the user the app signs in as (DQ_PG_USER).')
param identityName string

@description('Storage account name: DQ_STORAGE_ACCOUNT.')
param storageAccountName string

@description('Blob endpoint of the storage account (ends with a slash).')
param blobEndpoint string

@description('Queue endpoint of the storage account (ends with a slash).')
param queueEndpoint string

@description('Table endpoint of the storage account (ends with a slash).')
param tableEndpoint string

@description('Blob container of the deployment package.')
param deploymentContainerName string

@description('Application Insights component name.')
param appInsightsName string

@description('Key Vault URI (ends with a slash): DQ_KEY_VAULT_URL.')
param keyVaultUri string

@description('Name of the Key Vault secret that holds the PostgreSQL DSN.')
param pgDsnSecretName string = 'dq-pg-dsn'

@description('Name of the Key Vault secret that signs the runs list\'s paging cursors (at least 32 random characters): DQ_CURSOR_KEY.')
param cursorKeySecretName string = 'dq-cursor-key'

@description('Schema of the contract registry: DQ_PG_SCHEMA.')
param pgSchema string = 'dq'

@description('Entra ID directory that issues the API access tokens: DQ_AUTH_TENANT_ID (docs/security.md).')
param authTenantId string = tenant().tenantId

@description('Accepted access token audiences, comma separated (api://<client-id>,<client-id>): DQ_AUTH_AUDIENCES.')
@minLength(1)
param authAudiences string

@description('Token claim listing the DQ tenants of a caller: DQ_AUTH_TENANT_CLAIM (empty: groups only).')
param authTenantClaim string = 'dq_tenants'

@description('DQ tenant by Entra group object id, applied to the groups claim: DQ_AUTH_GROUP_TENANTS.')
param authGroupTenants object = {}

@description('Most instances the app scales out to, per scale group (Flex Consumption accepts 40 to 1000).')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Memory per instance.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${blobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
}

// Every setting the code reads (tests/unit/test_bicep.py checks this list against
// app/settings.py and host.json). FUNCTIONS_WORKER_RUNTIME is not set: on Flex Consumption
// the runtime comes from functionAppConfig.runtime. DQ_STORAGE_CONNECTION is local-only
// (Azurite) and is deliberately absent.
resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: 'appsettings'
  properties: {
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: identityClientId
    AzureWebJobsStorage__blobServiceUri: blobEndpoint
    AzureWebJobsStorage__queueServiceUri: queueEndpoint
    AzureWebJobsStorage__tableServiceUri: tableEndpoint
    TASKHUB_NAME: taskHubName
    APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
    AZURE_CLIENT_ID: identityClientId
    DQ_ENVIRONMENT: environmentName
    DQ_LOG_FORMAT: 'json'
    // Activities retry their own transient errors (docs/orchestration.md): attempts, first and longest wait
    DQ_ACTIVITY_RETRY_ATTEMPTS: '3'
    DQ_ACTIVITY_RETRY_FIRST_SECONDS: '2'
    DQ_ACTIVITY_RETRY_MAX_SECONDS: '30'
    DQ_ACTIONS_ALLOW_PRIVATE_NETWORKS: 'false'
    DQ_RETENTION_SCHEDULE: '0 0 3 * * *' // the retention clean-up: 03:00 UTC daily (docs/retention.md)
    DQ_STORAGE_ACCOUNT: storageAccountName
    DQ_KEY_VAULT_URL: keyVaultUri
    DQ_PG_SCHEMA: pgSchema
    // Entra-only server: each new connection signs in as the identity with a fresh access token
    DQ_PG_AUTH: 'entra'
    DQ_PG_USER: identityName
    DQ_PG_DSN: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/${pgDsnSecretName}/)'
    DQ_CURSOR_KEY: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/${cursorKeySecretName}/)'
    DQ_AUTH_MODE: 'entra'
    DQ_AUTH_TENANT_ID: authTenantId
    DQ_AUTH_AUDIENCES: authAudiences
    DQ_AUTH_ISSUERS: ''
    DQ_AUTH_JWKS_URL: ''
    DQ_AUTH_TENANT_CLAIM: authTenantClaim
    DQ_AUTH_GROUP_TENANTS: string(authGroupTenants)
    DQ_AUTH_LEEWAY_SECONDS: '60'
  }
}

// Publishing goes through Entra ID (az login, azd): basic-auth publishing is switched off.
resource ftpBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

@description('Function App resource id.')
output id string = site.id

@description('Function App name (functionAppName of eventgrid-subscription.bicep).')
output name string = site.name

@description('Default host name.')
output defaultHostName string = site.properties.defaultHostName

@description('Flex Consumption plan resource id.')
output planId string = plan.id
