"""Export a validation result in the shape of a Great Expectations validation result,
for users coming from GX. Rule types map to the nearest expectation type; rules
without a GX counterpart keep a ``dq_`` prefixed type."""

from __future__ import annotations

from typing import Any

from dq_core.validation.results import RuleResult, RuleStatus, ValidationResult

_EXPECTATION = {
    "not_null": "expect_column_values_to_not_be_null",
    "unique": "expect_column_values_to_be_unique",
    "in_set": "expect_column_values_to_be_in_set",
    "not_in_set": "expect_column_values_to_not_be_in_set",
    "regex": "expect_column_values_to_match_regex",
    "not_regex": "expect_column_values_to_not_match_regex",
    "range": "expect_column_values_to_be_between",
    "length": "expect_column_value_lengths_to_be_between",
    "type": "expect_column_values_to_be_of_type",
    "date_parseable": "expect_column_values_to_match_strftime_format",
    "code_list": "expect_column_values_to_be_in_set",
    "compound_unique": "expect_compound_columns_to_be_unique",
    "row_count": "expect_table_row_count_to_be_between",
    "columns_present": "expect_table_columns_to_match_set",
    "schema_match": "expect_table_columns_to_match_ordered_list",
    "referential": "expect_column_values_to_be_in_set",
}


_STATISTIC = {
    "mean": "expect_column_mean_to_be_between",
    "stddev": "expect_column_stdev_to_be_between",
    "min": "expect_column_min_to_be_between",
    "max": "expect_column_max_to_be_between",
    "median": "expect_column_median_to_be_between",
    "sum": "expect_column_sum_to_be_between",
    "distinct_count": "expect_column_unique_value_count_to_be_between",
    "distinct_percent": "expect_column_proportion_of_unique_values_to_be_between",
}
_COMPARISON = {
    ">": "expect_column_pair_values_a_to_be_greater_than_b",
    ">=": "expect_column_pair_values_a_to_be_greater_than_b",
    "==": "expect_column_pair_values_to_be_equal",
}
_KWARG = {
    "values": "value_set",
    "pattern": "regex",
    "min": "min_value",
    "max": "max_value",
    "formats": "strftime_format",
}


def _type(rule: RuleResult) -> str:
    if rule.type == "column_statistic":
        return _STATISTIC.get(str(rule.params.get("statistic")), "dq_column_statistic")
    if rule.type == "column_comparison":
        return _COMPARISON.get(str(rule.params.get("op")), "dq_column_comparison")
    return _EXPECTATION.get(rule.type, f"dq_{rule.type}")


def _kwargs(rule: RuleResult) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "mostly": rule.mostly,
        "meta": {"dq_rule_id": rule.rule_id, "severity": rule.severity.value},
    }
    if len(rule.columns) == 1:
        kwargs["column"] = rule.columns[0]
    elif rule.columns:
        kwargs["column_list"] = list(rule.columns)
    if rule.odcs_id:
        kwargs["meta"]["odcs_id"] = rule.odcs_id
    for name, value in rule.params.items():
        kwargs[_KWARG.get(name, name)] = value
    if rule.type == "column_comparison":
        kwargs.update(
            column_A=rule.params.get("left"), column_B=rule.params.get("right"), or_equal=rule.params.get("op") == ">="
        )
    return kwargs


def _entry(rule: RuleResult) -> dict[str, Any]:
    return {
        "success": rule.status is RuleStatus.PASSED,
        "expectation_config": {"type": _type(rule), "kwargs": _kwargs(rule)},
        "result": {
            "element_count": rule.element_count,
            "unexpected_count": rule.unexpected_count,
            "unexpected_percent": rule.unexpected_percent,
            "partial_unexpected_list": [sample.values for sample in rule.unexpected_samples],
            "observed_value": rule.observed_value,
        },
        "exception_info": {"raised_exception": rule.status is RuleStatus.ERROR, "exception_message": rule.error},
    }


def to_gx(result: ValidationResult) -> dict[str, Any]:
    evaluated = [rule for rule in result.rules if rule.status is not RuleStatus.SKIPPED]
    successful = sum(rule.status is RuleStatus.PASSED for rule in evaluated)
    return {
        "success": all(rule.status is RuleStatus.PASSED for rule in evaluated),
        "statistics": {
            "evaluated_expectations": len(evaluated),
            "successful_expectations": successful,
            "unsuccessful_expectations": len(evaluated) - successful,
            "success_percent": 100 * successful / len(evaluated) if evaluated else None,
        },
        "results": [_entry(rule) for rule in evaluated],
    }
