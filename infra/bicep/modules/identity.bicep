// The app's user-assigned managed identity: the one principal the Function App uses for
// storage (AzureWebJobsStorage, Flex deployment, tenant blobs and lineage tables), Key Vault,
// PostgreSQL (Entra) and Application Insights (Entra ingestion).

@description('Name of the user-assigned managed identity.')
param name string

@description('Azure region.')
param location string

@description('Tags applied to every resource.')
param tags object = {}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

@description('Resource id, for attaching the identity to the Function App.')
output id string = identity.id

@description('Name of the identity; it is also its PostgreSQL role name.')
output name string = identity.name

@description('Client (application) id: AZURE_CLIENT_ID and AzureWebJobsStorage__clientId.')
output clientId string = identity.properties.clientId

@description('Object (principal) id: the subject of every role assignment.')
output principalId string = identity.properties.principalId
