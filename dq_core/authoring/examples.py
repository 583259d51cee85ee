"""One example per rule type, cleansing step and action type, as an author writes it.

The reference shows them and the editor schemas offer them; a test validates each with
its model, and proves every member of each union has exactly one.
"""

from __future__ import annotations

from typing import Final

RULE_EXAMPLES: Final[dict[str, str]] = {
    "not_null": """\
id: customer_id_present
type: not_null
""",
    "unique": """\
id: one_row_per_customer
type: unique
""",
    "in_set": """\
id: segment_values
type: in_set
params: {values: [retail, sme, enterprise]}
mostly: 0.99
""",
    "not_in_set": """\
id: no_placeholder_names
type: not_in_set
params: {values: [test, dummy, 'N/A']}
severity: warning
""",
    "regex": """\
id: email_format
type: regex
params: {pattern: '^[^@\\s]+@[^@\\s]+\\.[A-Za-z]{2,}$'}
mostly: 0.95
dimension: validity
message: e-mail addresses must look like name@domain.tld
""",
    "not_regex": """\
id: no_html_in_names
type: not_regex
params: {pattern: '<[a-zA-Z/]'}
""",
    "range": """\
id: non_negative_amount
type: range
params: {min: 0, max: 1000000, max_inclusive: false}
""",
    "length": """\
id: full_name_length
type: length
params: {min: 2, max: 120}
""",
    "type": """\
id: amount_is_a_number
type: type
params: {logical_type: number}
""",
    "date_parseable": """\
id: signup_date_readable
type: date_parseable
params: {formats: ['%Y-%m-%d', '%d/%m/%Y']}
""",
    "not_future": """\
id: not_in_future
type: not_future
message: dates cannot lie in the future
""",
    "date_range": """\
id: recent_orders
type: date_range
params: {min: today-365d, max: now+1h}
severity: warning
""",
    "code_list": """\
id: known_country
type: code_list
params: {code_list: iso_country}
""",
    "compound_unique": """\
id: one_order_line_per_position
type: compound_unique
""",
    "column_comparison": """\
id: shipped_after_ordered
type: column_comparison
params: {left: ship_date, op: '>=', right: order_date}
""",
    "row_expression": """\
id: discount_below_price
type: row_expression
params: {expression: "discount <= price OR status = 'void'"}
""",
    "row_count": """\
id: expected_volume
type: row_count
params:
  threshold: {must_be_between: [1000, 5000000]}
severity: warning
""",
    "columns_present": """\
id: keys_present
type: columns_present
params: {columns: [customer_id, order_id]}
""",
    "schema_match": """\
id: exact_schema
type: schema_match
params: {allow_extra_columns: true}
""",
    "freshness": """\
id: loaded_today
type: freshness
params: {column: updated_at, max_age: PT24H}
""",
    "referential": """\
id: order_customer_exists
type: referential
params: {reference_dataset: customers, reference_column: customer_id}
""",
    "custom_sql": """\
id: no_negative_totals
type: custom_sql
params:
  query: SELECT COUNT(*) FROM {object} WHERE total < 0
  threshold: {must_be: 0}
""",
    "column_statistic": """\
id: average_basket
type: column_statistic
params:
  statistic: mean
  threshold: {must_be_between: [20, 200]}
""",
    "distribution_drift": """\
id: amount_distribution_stable
type: distribution_drift
params: {method: psi, max_drift: 0.25}
severity: warning
""",
    "anomaly": """\
id: volume_as_usual
type: anomaly
params: {metric: row_count, window: 30, min_history: 7}
severity: warning
""",
    "metric": """\
id: email_completeness
type: metric
params: {metric: nullValues, unit: percent, threshold: {mustBeLessThan: 10}}
dimension: completeness
""",
}
"""Rule type -> a rule template (an item of a rule library's ``rules``)."""

STEP_EXAMPLES: Final[dict[str, str]] = {
    "trim": "{type: trim}\n",
    "null_values": "{type: null_values, values: [NA, N/A, 'NULL', '-'], columns: [lifetime_value, segment]}\n",
    "case": "{type: case, columns: [email], mode: lower}\n",
    "parse_dates": "{type: parse_dates, columns: [birth_date], formats: ['%Y-%m-%d', '%d/%m/%Y'], output: date}\n",
    "phone": "{type: phone, columns: [phone], default_region: GB, on_error: set_null}\n",
    "email": "{type: email, columns: [email], on_error: reject}\n",
    "map_values": "{type: map_values, columns: [country], code_list: iso_country, unmapped: reject}\n",
    "cast": "{type: cast, columns: [lifetime_value], logical_type: number}\n",
    "impute": "{type: impute, columns: [lifetime_value], strategy: constant, value: 0}\n",
    "quarantine": "{type: quarantine, predicate: customer_id IS NULL, reason: no customer number}\n",
    "mask": "{type: mask}\n",
    "deduplicate": """\
type: deduplicate
key: [customer_id]
survivorship: most_recent
order_column: updated_at
field_level: true
""",
}
"""Cleansing step type -> a step (an item of a cleansing policy's ``steps``)."""

ACTION_EXAMPLES: Final[dict[str, str]] = {
    "webhook": """\
id: data_team_webhook
type: webhook
trigger: on_failure
url: https://hooks.contoso.example/dq
signing_secret: secret://dq-webhook-signing-key
headers: {X-Source: dq-platform}
fallback: data_team_email
""",
    "teams": """\
id: teams_channel
type: teams
trigger: on_anomaly
webhook_url: secret://teams-dq-channel-url
report_base_url: https://dq.contoso.example/reports
""",
    "email": """\
id: data_team_email
type: email
trigger: on_error
smtp_host: smtp.contoso.example
username: dq-bot
password: secret://smtp-password
sender: dq-bot@contoso.example
to: [data-team@contoso.example]
""",
    "openlineage": """\
id: lineage
type: openlineage
trigger: always
url: https://marquez.contoso.example
namespace: contoso-dev
""",
    "ticket": """\
id: data_quality_ticket
type: ticket
system: jira
url: https://contoso.atlassian.net
token: secret://jira-dq-bot-token
project: DQ
""",
    "storage_export": """\
id: results_to_lake
type: storage_export
trigger: always
target: blob
prefix: exports/dq-results
include: [result, rejects]
""",
    "queue": """\
id: run_events
type: queue
trigger: always
queue: dq-run-events
""",
}
"""Action type (the first tag of a model that has several: ``teams`` for teams / slack) -> an
action (an item of an action library's ``actions``)."""

BINDINGS_EXAMPLE: Final[str] = """\
bindings:
  - {id: volume, rule: expected_volume}
  - {id: segment_values, rule: customer_rules:segment_values, columns: [segment]}
  - id: email_completeness
    columns: [email]
    check:
      type: metric
      params: {metric: nullValues, unit: percent, threshold: {must_be_less_than: 10}}
      severity: warning
"""
"""How a contract's dataset applies rules: templates by id, or written inline under ``check``."""
