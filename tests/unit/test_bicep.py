"""The Bicep deployment (infra/bicep), checked without a Bicep compiler.

No Bicep compiler can be installed here, so every ``.bicep`` file is parsed with
pycep-parser and the tests assert on the parsed templates: every setting the code reads
is set, every data-plane role the code needs is assigned to the app's identity, no secret
appears in parameters or settings, and the modules agree with each other on names.
``.bicepparam`` files are not in pycep's grammar: they get text checks.
"""

from __future__ import annotations

import inspect
import json
import re
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from lark.exceptions import LarkError
from pycep import BicepParser

from adapters.azure.blob_store import AzureBlobStore
from app.settings import AppSettings
from dq_core.config.base import Environment

ROOT = Path(__file__).resolve().parents[2]
BICEP = ROOT / "infra" / "bicep"
MODULES = BICEP / "modules"
MAIN = BICEP / "main.bicep"
BICEP_FILES = sorted(BICEP.rglob("*.bicep"))
PARAM_FILES = sorted(BICEP.glob("*.bicepparam"))

EXPECTED_MODULES = {
    "identity",
    "storage",
    "monitoring",
    "keyvault",
    "postgres",
    "functionapp",
    "eventgrid",
    "eventgrid-subscription",
    "workbook",
    "rbac",
}

# Settings the code reads that are not AppSettings fields: the identity-based connection of
# the Functions host (AzureWebJobsStorage without a connection string).
IDENTITY_STORAGE_SETTINGS = {
    "AzureWebJobsStorage__credential",
    "AzureWebJobsStorage__clientId",
    "AzureWebJobsStorage__blobServiceUri",
    "AzureWebJobsStorage__queueServiceUri",
    "AzureWebJobsStorage__tableServiceUri",
}
LOCAL_ONLY_FIELDS = {"storage_connection"}  # DQ_STORAGE_CONNECTION: Azurite, never in Azure

# Built-in role definition ids -> the resource type each must be scoped to.
ROLES = {
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Microsoft.Storage/storageAccounts",  # Storage Blob Data Owner
    "974c5e8b-45b9-4653-ba55-5f855dd0fb88": "Microsoft.Storage/storageAccounts",  # Storage Queue Data Contributor
    "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": "Microsoft.Storage/storageAccounts",  # Storage Table Data Contributor
    "4633458b-17de-408a-b874-0445c86b69e6": "Microsoft.KeyVault/vaults",  # Key Vault Secrets User
    "3913510d-42f4-4e42-8a64-420c390055eb": "Microsoft.Insights/components",  # Monitoring Metrics Publisher
    # Storage Blob Data Contributor, for the Event Grid system topic's identity: its dead letters
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe": "Microsoft.Storage/storageAccounts/blobServices/containers",
}
DEAD_LETTER_ROLE = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"


# --- helpers ------------------------------------------------------------------------------


@cache
def _parse(path: Path) -> dict[str, Any]:
    return BicepParser().parse(file_path=path)


def parsed(path: Path) -> dict[str, Any]:
    return _parse(path.resolve())


def module_file(name: str) -> Path:
    return MODULES / f"{name}.bicep"


def unwrap(config: dict[str, Any]) -> dict[str, Any]:
    """The body of a resource or module, also when it is deployed under ``if (...)``."""
    return config["config"] if "condition" in config else config


def ref(value: Any) -> Any:
    """A property-accessor chain as dotted text (``storage.outputs.name``); other values as they are."""
    if isinstance(value, dict) and value.get("operator", {}).get("type") == "property_accessor":
        operands = value["operator"]["operands"]
        return f"{ref(operands['operand_1'])}.{ref(operands['operand_2'])}"
    return value


def section(path: Path, kind: str) -> dict[str, Any]:
    """``parameters``, ``variables``, ``resources``, ``modules`` or ``outputs`` (pycep omits empty ones)."""
    return parsed(path).get(kind, {})


def resources(path: Path, rtype: str | None = None) -> dict[str, dict[str, Any]]:
    found = section(path, "resources")
    return {name: r for name, r in found.items() if rtype is None or r["type"] == rtype}


def only_resource(path: Path, rtype: str) -> dict[str, Any]:
    found = resources(path, rtype)
    assert len(found) == 1, f"{path.name}: expected one {rtype}, found {sorted(found)}"
    resource = next(iter(found.values()))
    return unwrap(resource["config"])


def module_params(symbol: str) -> dict[str, Any]:
    return unwrap(section(MAIN, "modules")[symbol]["config"])["params"]


def module_path(symbol: str, source: Path = MAIN) -> Path:
    detail = section(source, "modules")[symbol]["detail"]
    return (source.parent / detail["path"]).resolve()


def app_settings() -> dict[str, Any]:
    config = only_resource(module_file("functionapp"), "Microsoft.Web/sites/config")
    assert config["name"] == "appsettings"
    return config["properties"]


def decorator(param: dict[str, Any], kind: str) -> Any:
    for item in param["decorators"]:
        if item["type"] == kind:
            return item.get("argument", True)
    return None


def strip_comments(text: str) -> str:
    """Bicep text without ``//`` comments (a ``//`` inside a URL such as https:// is kept)."""
    return re.sub(r"(^|\s)//.*$", r"\1", text, flags=re.MULTILINE)


def code_settings() -> set[str]:
    """Every setting the code reads in Azure: DQ_<FIELD> (not the local-only ones), the
    ``%NAME%`` references of host.json and the identity-based AzureWebJobsStorage settings."""
    prefix = AppSettings.model_config.get("env_prefix")
    assert prefix == "DQ_"
    fields = {f"{prefix}{name.upper()}" for name in AppSettings.model_fields if name not in LOCAL_ONLY_FIELDS}
    return fields | host_json_settings() | IDENTITY_STORAGE_SETTINGS


def host_json_settings() -> set[str]:
    return set(re.findall(r"%([A-Za-z_][A-Za-z0-9_]*)%", (ROOT / "host.json").read_text()))


def read_param_file(path: Path) -> tuple[str, dict[str, str]]:
    """(the ``using`` target, {param: value text}) of a .bicepparam file; values keep their quotes."""
    text = strip_comments(path.read_text())
    using = re.search(r"^using\s+'([^']+)'\s*$", text, flags=re.MULTILINE)
    assert using, f"{path.name}: no using line"
    values = dict(re.findall(r"^param\s+(\w+)\s*=\s*(.+?)\s*$", text, flags=re.MULTILINE))
    return using.group(1), values


def literal(text: str) -> Any:
    """A .bicepparam scalar: 'text', int or bool."""
    if text.startswith("'") and text.endswith("'"):
        return text[1:-1]
    if text in {"true", "false"}:
        return text == "true"
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return text


# --- every file parses ----------------------------------------------------------------------


def test_every_expected_module_exists() -> None:
    assert MAIN.is_file()
    assert {p.stem for p in MODULES.glob("*.bicep")} >= EXPECTED_MODULES


@pytest.mark.parametrize("path", BICEP_FILES, ids=lambda p: str(p.relative_to(BICEP)))
def test_every_bicep_file_parses(path: Path) -> None:
    assert section(path, "resources") or section(path, "modules"), f"{path.name} declares nothing"


def test_the_parser_refuses_broken_bicep() -> None:
    # Parsing is only a check if a syntax error fails it.
    broken = MAIN.read_text().replace("module storage 'modules/storage.bicep' = {", "module storage = {", 1)
    assert broken != MAIN.read_text()
    with pytest.raises((LarkError, ValueError)):
        BicepParser().parse(text=broken)


# --- settings: every setting the code reads is set, none that is local-only ------------------------


def test_host_json_names_the_task_hub_setting() -> None:
    assert "TASKHUB_NAME" in host_json_settings()


def test_every_setting_the_code_reads_is_set() -> None:
    missing = code_settings() - set(app_settings())
    assert not missing, f"the code reads {sorted(missing)} but functionapp.bicep does not set them"


def test_local_only_and_legacy_settings_are_not_set_in_azure() -> None:
    assert set(AppSettings.model_fields) >= LOCAL_ONLY_FIELDS  # the exclusion still means something
    settings = app_settings()
    for name in LOCAL_ONLY_FIELDS:
        assert f"DQ_{name.upper()}" not in settings
    assert "AzureWebJobsStorage" not in settings  # a connection string: identity-based only
    assert "FUNCTIONS_WORKER_RUNTIME" not in settings  # Flex: functionAppConfig.runtime instead
    assert "WEBSITE_RUN_FROM_PACKAGE" not in settings  # Flex: functionAppConfig.deployment instead


# setting -> (functionapp.bicep parameter it takes, what main.bicep passes for that parameter)
SETTING_SOURCES = {
    "AzureWebJobsStorage__clientId": ("identityClientId", "identity.outputs.clientId"),
    "AZURE_CLIENT_ID": ("identityClientId", "identity.outputs.clientId"),
    "AzureWebJobsStorage__blobServiceUri": ("blobEndpoint", "storage.outputs.blobEndpoint"),
    "AzureWebJobsStorage__queueServiceUri": ("queueEndpoint", "storage.outputs.queueEndpoint"),
    "AzureWebJobsStorage__tableServiceUri": ("tableEndpoint", "storage.outputs.tableEndpoint"),
    "DQ_STORAGE_ACCOUNT": ("storageAccountName", "storage.outputs.name"),
    "DQ_KEY_VAULT_URL": ("keyVaultUri", "keyVault.outputs.uri"),
    "DQ_ENVIRONMENT": ("environmentName", "environmentName"),
    "DQ_PG_SCHEMA": ("pgSchema", "pgSchema"),
    "DQ_PG_USER": ("identityName", "identity.outputs.name"),
    "TASKHUB_NAME": ("taskHubName", "taskHubName"),
}


@pytest.mark.parametrize("setting", sorted(SETTING_SOURCES))
def test_each_setting_is_wired_to_the_right_resource(setting: str) -> None:
    param, source = SETTING_SOURCES[setting]
    assert ref(app_settings()[setting]) == param
    assert ref(module_params("functionApp")[param]) == source


def test_storage_connection_uses_the_managed_identity() -> None:
    settings = app_settings()
    assert settings["AzureWebJobsStorage__credential"] == "managedidentity"
    outputs = section(module_file("storage"), "outputs")
    for service in ("blob", "queue", "table"):
        assert ref(outputs[f"{service}Endpoint"]["value"]) == f"account.properties.primaryEndpoints.{service}"


def test_environment_and_task_hub_per_environment() -> None:
    allowed = decorator(section(MAIN, "parameters")["environmentName"], "allowed")
    assert sorted(allowed) == ["dev", "prod", "test"]
    for env in allowed:
        assert Environment(env) is not Environment.LOCAL  # DQ_ENVIRONMENT parses in the app
    template = section(MAIN, "variables")["taskHubName"]["value"]
    hubs = {template.replace("${environmentName}", env) for env in allowed}
    assert len(hubs) == len(allowed), "each environment needs its own Durable task hub"
    for hub in hubs:
        assert re.fullmatch(r"[A-Za-z][A-Za-z0-9]{2,44}", hub), f"{hub!r} is not a valid task hub name"


def test_pg_dsn_is_only_a_key_vault_reference() -> None:
    settings = app_settings()
    value = settings["DQ_PG_DSN"]
    assert isinstance(value, str)
    assert value.startswith("@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/")
    assert value.endswith(")")
    assert section(module_file("functionapp"), "parameters")["pgDsnSecretName"]["default"] == "dq-pg-dsn"
    # The platform resolves the reference with the user-assigned identity (not a system one).
    site = only_resource(module_file("functionapp"), "Microsoft.Web/sites")
    assert site["properties"]["keyVaultReferenceIdentity"] == "identityId"
    assert ref(section(module_file("keyvault"), "outputs")["uri"]["value"]) == "vault.properties.vaultUri"


def test_the_app_signs_in_to_postgres_as_its_identity_with_entra_tokens() -> None:
    # The server accepts Entra tokens only: the app must not connect with the DSN as given
    # (adapters/postgres/signin.py, tests/integration/test_postgres_entra.py).
    settings = app_settings()
    assert settings["DQ_PG_AUTH"] == "entra"
    assert AppSettings(pg_auth=settings["DQ_PG_AUTH"]).pg_auth == "entra"  # a value the app accepts
    assert AppSettings.model_fields["pg_auth"].default == "password"  # local runs keep the DSN as given
    # the user is the identity the server made its Entra administrator, and the one whose token the app gets
    assert ref(module_params("functionApp")["identityName"]) == "identity.outputs.name"
    assert ref(module_params("postgres")["adminPrincipalName"]) == "identity.outputs.name"
    assert ref(module_params("postgres")["adminPrincipalId"]) == "identity.outputs.principalId"
    assert ref(settings["AZURE_CLIENT_ID"]) == "identityClientId"
    assert ref(module_params("functionApp")["identityClientId"]) == "identity.outputs.clientId"
    server = only_resource(module_file("postgres"), "Microsoft.DBforPostgreSQL/flexibleServers")
    assert server["properties"]["authConfig"]["passwordAuth"] == "Disabled"


def test_application_insights_uses_entra_authentication() -> None:
    settings = app_settings()
    assert ref(settings["APPLICATIONINSIGHTS_CONNECTION_STRING"]) == "appInsights.properties.ConnectionString"
    auth = settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"]
    assert "ClientId=${identityClientId}" in auth and "Authorization=AAD" in auth
    insights = only_resource(module_file("monitoring"), "Microsoft.Insights/components")
    assert insights["properties"]["DisableLocalAuth"] is True
    assert ref(insights["properties"]["WorkspaceResourceId"]) == "workspace.id"


# --- the function app ---------------------------------------------------------------------------


def test_function_app_is_flex_consumption_python_311() -> None:
    path = module_file("functionapp")
    plan = only_resource(path, "Microsoft.Web/serverfarms")
    assert plan["sku"] == {"name": "FC1", "tier": "FlexConsumption"}
    assert plan["properties"]["reserved"] is True
    site = only_resource(path, "Microsoft.Web/sites")
    assert ref(site["properties"]["serverFarmId"]) == "plan.id"
    config = site["properties"]["functionAppConfig"]
    runtime = config["runtime"]
    assert runtime == {"name": "python", "version": "3.11"}
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert runtime["version"] == pyproject["tool"]["mypy"]["python_version"]  # the version the code targets
    assert {"maximumInstanceCount", "instanceMemoryMB"} <= set(config["scaleAndConcurrency"])
    storage = config["deployment"]["storage"]
    assert storage["type"] == "blobContainer"
    assert storage["value"] == "${blobEndpoint}${deploymentContainerName}"
    assert storage["authentication"] == {"type": "UserAssignedIdentity", "userAssignedIdentityResourceId": "identityId"}
    assert ref(module_params("functionApp")["deploymentContainerName"]) == "storage.outputs.deploymentContainerName"


def test_function_app_runs_as_the_user_assigned_identity() -> None:
    site = only_resource(module_file("functionapp"), "Microsoft.Web/sites")
    assert site["identity"]["type"] == "UserAssigned"
    assert list(site["identity"]["userAssignedIdentities"]) == ["'${identityId}'"]
    assert site["properties"]["httpsOnly"] is True
    assert ref(module_params("functionApp")["identityId"]) == "identity.outputs.id"
    outputs = section(module_file("identity"), "outputs")
    assert ref(outputs["clientId"]["value"]) == "identity.properties.clientId"
    assert ref(outputs["principalId"]["value"]) == "identity.properties.principalId"


# --- roles: every data-plane role the code needs, on the one resource it is for ---------------------


def role_assignments() -> list[dict[str, Any]]:
    path = module_file("rbac")
    found = []
    for resource in resources(path, "Microsoft.Authorization/roleAssignments").values():
        config = unwrap(resource["config"])
        definition = config["properties"]["roleDefinitionId"]["function"]
        assert definition["type"] == "subscription_resource_id"
        assert definition["parameters"]["resource_type"] == "Microsoft.Authorization/roleDefinitions"
        found.append(
            {
                "role": definition["parameters"]["resource_name_1"],
                "scope": config.get("scope"),
                "principalId": ref(config["properties"]["principalId"]),
                "principalType": config["properties"]["principalType"],
            }
        )
    return found


def test_every_data_plane_role_is_assigned_to_the_identity() -> None:
    assignments = role_assignments()
    assert sorted(a["role"] for a in assignments) == sorted(ROLES), "exactly these roles, each once"
    for assignment in assignments:
        # every role is the app's identity's, but the dead-letter container's: Event Grid's own identity
        principal = "eventGridPrincipalId" if assignment["role"] == DEAD_LETTER_ROLE else "identityPrincipalId"
        assert assignment["principalId"] == principal
        assert assignment["principalType"] == "ServicePrincipal"
    assert ref(module_params("rbac")["identityPrincipalId"]) == "identity.outputs.principalId"
    assert ref(module_params("rbac")["eventGridPrincipalId"]) == "eventGrid.outputs.principalId"


def test_each_role_is_scoped_to_its_resource_not_the_resource_group() -> None:
    path = module_file("rbac")
    existing = {name: r for name, r in resources(path).items() if r["existing"]}
    for assignment in role_assignments():
        scope = assignment["scope"]
        assert isinstance(scope, str) and scope in existing, f"role {assignment['role']} has scope {scope!r}"
        assert existing[scope]["type"] == ROLES[assignment["role"]]


def test_role_scopes_are_the_deployed_resources() -> None:
    params = module_params("rbac")
    assert ref(params["storageAccountName"]) == "storage.outputs.name"
    assert ref(params["keyVaultName"]) == "keyVault.outputs.name"
    assert ref(params["appInsightsName"]) == "monitoring.outputs.appInsightsName"
    path = module_file("rbac")
    names = {r["type"]: unwrap(r["config"])["name"] for r in resources(path).values() if r["existing"]}
    assert names == {
        "Microsoft.Storage/storageAccounts": "storageAccountName",
        "Microsoft.Storage/storageAccounts/blobServices": "default",
        "Microsoft.Storage/storageAccounts/blobServices/containers": "deadLetterContainerName",
        "Microsoft.KeyVault/vaults": "keyVaultName",
        "Microsoft.Insights/components": "appInsightsName",
    }
    assert ref(params["deadLetterContainerName"]) == "storage.outputs.deadLetterContainerName"


def test_no_other_module_assigns_roles() -> None:
    for path in BICEP_FILES:
        if path != module_file("rbac"):
            assert not resources(path, "Microsoft.Authorization/roleAssignments"), path.name


def test_postgres_entra_admin_is_the_identity() -> None:
    path = module_file("postgres")
    admin = only_resource(path, "Microsoft.DBforPostgreSQL/flexibleServers/administrators")
    assert admin["name"] == "adminPrincipalId"
    assert admin["properties"]["principalType"] == "ServicePrincipal"
    assert admin["properties"]["principalName"] == "adminPrincipalName"
    params = module_params("postgres")
    assert ref(params["adminPrincipalId"]) == "identity.outputs.principalId"
    assert ref(params["adminPrincipalName"]) == "identity.outputs.name"


# --- no secret anywhere ------------------------------------------------------------------------

SECRET_PARAM_NAME = re.compile(r"password|secret|connectionstring|accountkey|apikey|token$|sas$|key$", re.IGNORECASE)
SECRET_MARKERS = (
    "AccountKey=",
    "SharedAccessSignature",
    "DefaultEndpointsProtocol",
    "administratorLogin",
    "listConnectionStrings",
    "InstrumentationKey=",
    "@secure",
)


@pytest.mark.parametrize("path", BICEP_FILES, ids=lambda p: str(p.relative_to(BICEP)))
def test_no_parameter_is_a_secret(path: Path) -> None:
    for name, param in section(path, "parameters").items():
        assert decorator(param, "secure") is None, f"{path.name}: {name} is @secure: nothing secret is passed"
        if name.endswith("Name"):
            continue  # the name of a secret (pgDsnSecretName) is not a secret
        assert not SECRET_PARAM_NAME.search(name), f"{path.name}: parameter {name} looks like a secret"


@pytest.mark.parametrize("path", BICEP_FILES, ids=lambda p: str(p.relative_to(BICEP)))
def test_no_secret_value_in_the_templates(path: Path) -> None:
    text = strip_comments(path.read_text())
    for marker in SECRET_MARKERS:
        assert marker.lower() not in text.lower(), f"{path.name} contains {marker}"
    # The one place the word may appear is where local (built-in) PostgreSQL logins are switched off.
    for line in text.splitlines():
        if "password" in line.lower():
            assert line.strip() == "passwordAuth: 'Disabled'", f"{path.name}: {line.strip()}"
    if path != module_file("eventgrid-subscription"):
        assert "listkeys(" not in text.lower(), f"{path.name} reads keys"
    outputs = json.dumps(section(path, "outputs"))
    assert "list_func" not in outputs and "ConnectionString" not in outputs, f"{path.name} outputs a key"


def test_no_app_setting_carries_a_secret() -> None:
    for name, value in app_settings().items():
        text = json.dumps(value).lower()
        for marker in ("accountkey=", "password", "sharedaccesssignature", "sig=", "listkeys"):
            assert marker not in text, f"{name} carries {marker}"
        if name not in ("DQ_PG_DSN", "DQ_CURSOR_KEY"):  # secrets: Key Vault references, never values
            assert "@microsoft.keyvault(" not in text


def test_storage_refuses_shared_keys() -> None:
    account = only_resource(module_file("storage"), "Microsoft.Storage/storageAccounts")
    assert account["kind"] == "StorageV2"
    properties = account["properties"]
    assert properties["allowSharedKeyAccess"] is False
    assert properties["allowBlobPublicAccess"] is False
    assert properties["minimumTlsVersion"] == "TLS1_2"
    assert properties["supportsHttpsTrafficOnly"] is True
    containers = resources(module_file("storage"), "Microsoft.Storage/storageAccounts/blobServices/containers")
    assert {unwrap(c["config"])["name"] for c in containers.values()} == {
        "deploymentContainerName",
        "deadLetterContainerName",
    }
    assert all(unwrap(c["config"])["properties"]["publicAccess"] == "None" for c in containers.values())


def test_postgres_accepts_entra_authentication_only() -> None:
    server = only_resource(module_file("postgres"), "Microsoft.DBforPostgreSQL/flexibleServers")
    auth = server["properties"]["authConfig"]
    assert auth["activeDirectoryAuth"] == "Enabled"
    assert auth["passwordAuth"] == "Disabled"
    assert not {"administratorLogin", "administratorLoginPassword"} & set(server["properties"])
    database = only_resource(module_file("postgres"), "Microsoft.DBforPostgreSQL/flexibleServers/databases")
    assert database["name"] == "databaseName"


def test_key_vault_is_in_rbac_mode_with_purge_protection() -> None:
    vault = only_resource(module_file("keyvault"), "Microsoft.KeyVault/vaults")
    properties = vault["properties"]
    assert properties["enableRbacAuthorization"] is True
    assert properties["enableSoftDelete"] is True
    assert properties["enablePurgeProtection"] is True
    assert "accessPolicies" not in properties


# --- parameter files ---------------------------------------------------------------------------


def test_one_parameter_file_per_environment() -> None:
    allowed = decorator(section(MAIN, "parameters")["environmentName"], "allowed")
    assert sorted(p.stem for p in PARAM_FILES) == sorted(allowed)


@pytest.mark.parametrize("path", PARAM_FILES, ids=lambda p: p.name)
def test_parameter_file_gives_every_required_parameter(path: Path) -> None:
    using, values = read_param_file(path)
    assert using == "main.bicep"
    declared = section(MAIN, "parameters")
    assert set(values) <= set(declared), f"{path.name} sets undeclared {sorted(set(values) - set(declared))}"
    required = {name for name, p in declared.items() if p["default"] is None}
    assert required <= set(values), f"{path.name} misses {sorted(required - set(values))}"
    assert literal(values["environmentName"]) == path.stem
    for name, text in values.items():
        value, param = literal(text), declared[name]
        allowed = decorator(param, "allowed")
        if allowed is not None:
            assert value in allowed, f"{path.name}: {name} = {value!r} is not one of {allowed}"
        low, high = decorator(param, "min_value"), decorator(param, "max_value")
        if isinstance(value, int) and not isinstance(value, bool):
            assert low is None or value >= low, f"{path.name}: {name} below {low}"
            assert high is None or value <= high, f"{path.name}: {name} above {high}"
        if isinstance(value, str) and param["type"] == "string":
            assert decorator(param, "min_length") is None or len(value) >= decorator(param, "min_length")
            assert decorator(param, "max_length") is None or len(value) <= decorator(param, "max_length")


@pytest.mark.parametrize("path", PARAM_FILES, ids=lambda p: p.name)
def test_parameter_file_holds_no_secret(path: Path) -> None:
    text = strip_comments(path.read_text())
    for marker in ("password", "secret", "accountkey", "sharedaccesssignature", "instrumentationkey", "@microsoft."):
        assert marker not in text.lower(), f"{path.name} contains {marker}"
    for value in re.findall(r"'([^']*)'", text):
        assert not re.search(r"[A-Za-z0-9+/]{32,}={0,2}", value), f"{path.name} holds a key-like value {value!r}"


def test_prod_gets_a_larger_postgres_than_dev() -> None:
    dev = read_param_file(BICEP / "dev.bicepparam")[1]
    prod = read_param_file(BICEP / "prod.bicepparam")[1]
    assert literal(dev["postgresSkuTier"]) == "Burstable"
    assert literal(prod["postgresSkuTier"]) == "GeneralPurpose"
    assert literal(prod["postgresSkuName"]) != literal(dev["postgresSkuName"])
    assert literal(prod["postgresStorageSizeGB"]) > literal(dev["postgresStorageSizeGB"])
    assert literal(prod["postgresHighAvailability"]) is True


# --- names are consistent across modules -------------------------------------------------------


def _modules_of(path: Path) -> dict[str, Any]:
    return section(path, "modules")


def test_every_module_referenced_exists() -> None:
    modules = _modules_of(MAIN)
    assert modules, "main.bicep deploys no module"
    for symbol, module in modules.items():
        assert module["type"] == "local", f"{symbol}: registry modules need a download at build time"
        path = module_path(symbol)
        assert path.is_file(), f"{symbol}: {path} does not exist"
        assert path.parent == MODULES.resolve()
    deployed = {module_path(symbol).stem for symbol in modules}
    assert deployed == EXPECTED_MODULES - {"eventgrid-subscription"}


def test_every_parameter_passed_to_a_module_is_declared_and_every_required_one_is_passed() -> None:
    for symbol in _modules_of(MAIN):
        declared = section(module_path(symbol), "parameters")
        passed = set(module_params(symbol))
        assert passed <= set(declared), f"{symbol}: undeclared {sorted(passed - set(declared))}"
        required = {name for name, p in declared.items() if p["default"] is None}
        assert required <= passed, f"{symbol}: missing {sorted(required - passed)}"


def test_every_module_output_main_reads_is_declared() -> None:
    modules = _modules_of(MAIN)
    reads = set(re.findall(r"\b(\w+)\.outputs\.(\w+)", strip_comments(MAIN.read_text())))
    assert len(reads) >= 10  # the check is not vacuous
    for symbol, output in reads:
        assert symbol in modules, f"{symbol}.outputs.{output}: no module {symbol}"
        declared = section(module_path(symbol), "outputs")
        assert output in declared, f"{symbol}.outputs.{output} is not an output of {module_path(symbol).name}"


def test_every_interpolation_names_a_declared_symbol() -> None:
    # Inside a module, an interpolated ${name} must be a parameter, variable, resource or loop item.
    for path in [MAIN, *sorted(MODULES.glob("*.bicep"))]:
        known = {name for kind in ("parameters", "variables", "resources", "modules") for name in section(path, kind)}
        known |= {"part"}  # the loop item of eventgrid-subscription.bicep
        for name in re.findall(r"\$\{(\w+)", strip_comments(path.read_text())):
            assert name in known, f"{path.name}: ${{{name}}} names nothing declared"


# --- Event Grid: system topic now, subscription in a second step --------------------------------


def test_event_grid_system_topic_is_on_the_storage_account() -> None:
    topic = only_resource(module_file("eventgrid"), "Microsoft.EventGrid/systemTopics")
    assert topic["properties"]["topicType"] == "Microsoft.Storage.StorageAccounts"
    assert topic["properties"]["source"] == "storageAccountId"
    assert ref(module_params("eventGrid")["storageAccountId"]) == "storage.outputs.id"


def test_blob_created_subscription_is_a_second_step_fed_by_main_outputs() -> None:
    path = module_file("eventgrid-subscription")
    # Not part of main.bicep: it cannot be deployed before the app's code is published.
    assert all(module_path(symbol) != path.resolve() for symbol in _modules_of(MAIN))
    outputs = section(MAIN, "outputs")
    assert ref(outputs["FUNCTION_APP_NAME"]["value"]) == "functionApp.outputs.name"
    assert ref(outputs["EVENT_GRID_SYSTEM_TOPIC_NAME"]["value"]) == "eventGrid.outputs.name"
    params = section(path, "parameters")
    required = {name for name, p in params.items() if p["default"] is None}
    assert required == {"systemTopicName", "functionAppName"}
    existing = {r["type"]: unwrap(r["config"])["name"] for r in resources(path).values() if r["existing"]}
    assert existing["Microsoft.EventGrid/systemTopics"] == "systemTopicName"
    assert existing["Microsoft.Web/sites"] == "functionAppName"
    subscription = only_resource(path, "Microsoft.EventGrid/systemTopics/eventSubscriptions")
    assert subscription["parent"] == "systemTopic"
    assert subscription["properties"]["filter"]["includedEventTypes"] == ["Microsoft.Storage.BlobCreated"]
    assert subscription["properties"]["destination"]["endpointType"] == "WebHook"


def test_blob_events_go_to_the_event_grid_extension_endpoint_of_the_registered_function() -> None:
    # an Event Grid trigger (one function for every tenant container), not a blob trigger (one container);
    # tests/functions/test_function_app.py checks the app registers that function with an eventGridTrigger
    path = module_file("eventgrid-subscription")
    variables = section(path, "variables")
    url = variables["webhookUrl"]["value"]
    assert url.startswith("https://${functionApp.properties.defaultHostName}/runtime/webhooks/eventgrid?")
    assert "functionName=${eventGridFunctionName}&code=${eventGridExtensionKey}" in url
    assert "/runtime/webhooks/blobs" not in url and "Host.Functions." not in url
    key = variables["eventGridExtensionKey"]["value"]
    assert key["operator"]["operands"]["operand_1"]["function"]["parameters"]["func_name"] == "listKeys"
    assert ref(key["operator"]["operands"]["operand_2"]) == "systemKeys.eventgrid_extension"
    default_name = section(path, "parameters")["eventGridFunctionName"]["default"]
    assert default_name == "on_blob_created"


def test_blob_events_skip_the_folders_the_app_writes() -> None:
    from dq_core.jobs.matching import APP_WRITTEN_PREFIXES

    path = module_file("eventgrid-subscription")
    excluded = section(path, "parameters")["excludedSubjectParts"]["default"]
    assert excluded == [f"/blobs/{prefix}" for prefix in APP_WRITTEN_PREFIXES]
    filters = only_resource(path, "Microsoft.EventGrid/systemTopics/eventSubscriptions")["properties"]["filter"]
    assert "excludedSubjectParts" in json.dumps(filters["advancedFilters"])
    assert "StringNotContains" in json.dumps(filters["advancedFilters"])


def test_blob_subscription_covers_the_tenant_containers() -> None:
    prefix = inspect.signature(AzureBlobStore.__init__).parameters["container_prefix"].default
    default = section(module_file("eventgrid-subscription"), "parameters")["subjectBeginsWith"]["default"]
    assert default == f"/blobServices/default/containers/{prefix}"
    deployment_container = section(MAIN, "variables")["deploymentContainerName"]["value"]
    assert not deployment_container.startswith(prefix), "deployment packages would trigger the app"


def test_undeliverable_blob_events_go_to_a_dead_letter_container_written_by_the_topics_identity() -> None:
    """Without a dead-letter destination, an event whose retries ran out is dropped: an upload lost."""
    path = module_file("eventgrid-subscription")
    properties = only_resource(path, "Microsoft.EventGrid/systemTopics/eventSubscriptions")["properties"]
    assert "deadLetterDestination" not in properties  # a storage key would be needed: identity only
    dead_letter = properties["deadLetterWithResourceIdentity"]
    assert dead_letter["identity"] == {"type": "SystemAssigned"}
    destination = dead_letter["deadLetterDestination"]
    assert destination["endpointType"] == "StorageBlob"
    assert ref(destination["properties"]["resourceId"]) == "systemTopic.properties.source"  # the storage account
    assert destination["properties"]["blobContainerName"] == "deadLetterContainerName"
    # the container the subscription names by default is the one main.bicep creates
    default = section(path, "parameters")["deadLetterContainerName"]["default"]
    assert default == section(MAIN, "variables")["deadLetterContainerName"]["value"]
    assert ref(module_params("storage")["deadLetterContainerName"]) == "deadLetterContainerName"
    assert (
        ref(section(MAIN, "outputs")["DEAD_LETTER_CONTAINER_NAME"]["value"])
        == "storage.outputs.deadLetterContainerName"
    )
    prefix = inspect.signature(AzureBlobStore.__init__).parameters["container_prefix"].default
    assert not default.startswith(prefix), "dead letters would land in a tenant's container and trigger runs"
    # the topic has that identity, and it may write to that container and nowhere else
    topic = only_resource(module_file("eventgrid"), "Microsoft.EventGrid/systemTopics")
    assert topic["identity"] == {"type": "SystemAssigned"}
    principal = section(module_file("eventgrid"), "outputs")["principalId"]["value"]
    assert ref(principal) == "systemTopic.identity.principalId"
    (writer,) = [a for a in role_assignments() if a["principalId"] == "eventGridPrincipalId"]
    assert writer["role"] == DEAD_LETTER_ROLE and writer["scope"] == "deadLetterContainer"
    retry = properties["retryPolicy"]
    assert retry == {
        "maxDeliveryAttempts": "maxDeliveryAttempts",
        "eventTimeToLiveInMinutes": "eventTimeToLiveInMinutes",
    }


# --- limits ------------------------------------------------------------------------------------

# Flex Consumption: "the lowest maximum instance count value is 40, and the highest supported maximum
# instance count value is 1000" (learn.microsoft.com, functions-scale and event-driven-scaling; the
# newest revision lowers the floor to 1, which the older one refuses: 40 suits both).
FLEX_MAX_INSTANCES = range(40, 1001)


def test_maximum_instance_count_is_in_the_flex_consumption_range() -> None:
    for path, name in ((MAIN, "functionMaximumInstanceCount"), (module_file("functionapp"), "maximumInstanceCount")):
        param = section(path, "parameters")[name]
        assert decorator(param, "min_value") == FLEX_MAX_INSTANCES.start, f"{path.name}: {name}"
        assert decorator(param, "max_value") == FLEX_MAX_INSTANCES.stop - 1, f"{path.name}: {name}"
        assert param["default"] in FLEX_MAX_INSTANCES
    for path in PARAM_FILES:
        value = literal(read_param_file(path)[1]["functionMaximumInstanceCount"])
        assert value in FLEX_MAX_INSTANCES, f"{path.name}: functionMaximumInstanceCount = {value}"
    assert ref(module_params("functionApp")["maximumInstanceCount"]) == "functionMaximumInstanceCount"


# --- workbook ----------------------------------------------------------------------------------


def workbook_content() -> dict[str, Any]:
    load = section(module_file("workbook"), "variables")["content"]["value"]["function"]
    assert load["type"] == "load_json_content"
    return json.loads((MODULES / load["parameters"]["file_path"]).read_text())


def test_workbook_shows_runs_failures_stages_and_actions_per_tenant() -> None:
    content = workbook_content()
    assert content["version"] == "Notebook/1.0"
    queries = [i["content"] for i in content["items"] if i["type"] == 3]
    assert len(queries) >= 4
    assert all(q["resourceType"] == "microsoft.insights/components" for q in queries)
    kql = "\n".join(q["query"] for q in queries)
    for table in ("dependencies", "customMetrics", "traces", "requests"):
        assert re.search(rf"^\s*(let \w+ = )?{table}\b", kql, flags=re.MULTILINE), f"no query on {table}"
    for dimension in ("tenant", "run_id", "stage", "status", "action_id"):
        assert f"customDimensions.{dimension}" in kql, f"no panel reads customDimensions.{dimension}"
    titles = " ".join(q["title"].lower() for q in queries)
    for topic in ("runs", "failures", "stage duration", "action outcomes"):
        assert topic in titles, f"no panel on {topic}"
    assert "by tenant" in kql


def test_workbook_text_states_the_telemetry_the_app_emits() -> None:
    from monitoring import telemetry

    texts = " ".join(i["content"]["json"] for i in workbook_content()["items"] if i["type"] == 1)
    assert "the DQ app emits" in texts
    spans = (telemetry.RUN_SPAN, telemetry.STAGE_SPAN, telemetry.ACTION_SPAN)
    instruments = (telemetry.RUN_DURATION, telemetry.ROWS_PROCESSED, telemetry.RULES_FAILED, telemetry.ACTIONS_FAILED)
    for name in (*spans, *instruments, "tenant", "run_id", "stage", "status", "action_id"):
        assert f"`{name}`" in texts
    kql = "\n".join(i["content"].get("query", "") for i in workbook_content()["items"] if i["type"] == 3)
    for name in spans + instruments[1:]:  # the names the queries filter on are the ones emitted
        assert f"'{name}'" in kql
    assert "customEvents" not in kql  # spans land in dependencies


def test_workbook_charts_the_quality_scores_the_app_emits_per_dataset() -> None:
    """The scores tiles read the ``dq.run`` attributes monitoring/telemetry.py sets (score_overall and one per
    scored dimension, and the dataset), one point per run, over time per tenant and dataset."""
    from datetime import UTC, datetime

    from dq_core.results.run import RunResult
    from dq_core.results.scores import ScoredDimension
    from monitoring import telemetry
    from tests.unit.test_scores import WORKED_EXAMPLE

    items = {i["name"]: i for i in workbook_content()["items"]}
    over_time, latest = items["score-over-time"]["content"], items["scores-per-dataset"]["content"]
    assert over_time["visualization"] == "timechart" and latest["visualization"] == "table"
    assert "score" in over_time["title"].lower() and "dataset" in over_time["title"].lower()
    for query in (over_time["query"], latest["query"]):
        assert query.startswith("dependencies\n| where name == 'dq.run'")
        assert "customDimensions.dataset" in query and "customDimensions.score_overall" in query
        assert "by tenant, dataset, run_id" in query  # a run reported twice counts once
        assert "itemCount" in query
    assert "bin(timestamp, {TimeRange:grain})" in over_time["query"]
    for dimension in ScoredDimension:
        assert f"customDimensions.score_{dimension.value}" in latest["query"]
    names = list(items)
    assert names.index("scores-heading") < names.index("score-over-time") < names.index("scores-per-dataset")
    result = RunResult.build(
        run_id="r",
        tenant="t",
        environment="dev",
        started_at=datetime(2026, 1, 1, tzinfo=UTC),
        finished_at=datetime(2026, 1, 1, tzinfo=UTC),
        validation=WORKED_EXAMPLE,
    )
    emitted = telemetry.score_attributes(result)  # what the app sets is what the queries read
    assert len(emitted) == 6  # overall and the five dimensions the worked example scores
    for name in emitted:
        assert f"customDimensions.{name}" in latest["query"]
    texts = items["about"]["content"]["json"]
    for name in ("dataset", "score_overall", *(f"score_{d.value}" for d in ScoredDimension)):
        assert f"`{name}`" in texts


def test_workbook_is_bound_to_application_insights() -> None:
    workbook = only_resource(module_file("workbook"), "Microsoft.Insights/workbooks")
    assert workbook["properties"]["sourceId"] == "appInsightsId"
    assert ref(module_params("workbook")["appInsightsId"]) == "monitoring.outputs.appInsightsId"
    outputs = section(module_file("monitoring"), "outputs")
    assert ref(outputs["appInsightsId"]["value"]) == "appInsights.id"


COUNTING = re.compile(r"\b(count|countif|dcount|dcountif)\s*\(")


def kusto_blocks() -> list[str]:
    """Every query of the workbook, and every Kusto block of docs/monitoring.md."""
    queries = [i["content"]["query"] for i in workbook_content()["items"] if i["type"] == 3]
    docs = (ROOT / "docs" / "monitoring.md").read_text(encoding="utf-8")
    return queries + re.findall(r"```kusto\n(.*?)```", docs, flags=re.DOTALL)


def test_sampled_telemetry_is_counted_with_item_count() -> None:
    """Adaptive sampling is on by default in the Functions host: a stored row stands for itemCount
    items, so count() or dcount() under-counts. Metrics are pre-aggregated (valueSum)."""
    blocks = kusto_blocks()
    assert len(blocks) >= 10
    for query in blocks:
        assert not COUNTING.search(query), f"counts rows instead of summing itemCount:\n{query}"
        if "summarize" in query and not query.lstrip().startswith("customMetrics"):
            assert "itemCount" in query, f"a summary without itemCount:\n{query}"
    runs = next(q for q in blocks if "'dq.run'" in q and "runs = sum(itemCount)" in q)
    assert "arg_max(" in runs and "by tenant, run_id" in runs  # a run reported twice counts once
