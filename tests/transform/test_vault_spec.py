"""vault.yml: read and checked before dbt runs, every problem named by its place."""

from __future__ import annotations

from pathlib import Path

import pytest

from basin.common.errors import ConfigError
from basin.transform.vault import load_vault

GOOD = """
hubs:
  customer: {source: stg_customers, keys: [customer_id], record_source: crm.customers}
  account: {source: stg_accounts, keys: [account_id], record_source: crm.accounts}
  transaction: {source: stg_transactions, keys: [transaction_id], record_source: fin.tx}
links:
  customer_account: {source: stg_accounts, hubs: {customer: [customer_id], account: [account_id]}, record_source: crm.accounts}
  account_transaction: {source: stg_transactions, hubs: {account: [account_id], transaction: [transaction_id]}, record_source: fin.tx}
satellites:
  customer: {source: stg_customers, parent: customer, keys: [customer_id], attributes: [email], record_source: crm.customers}
pits:
  customer: {hub: customer, satellites: [customer]}
bridges:
  customer_transaction: {hub: customer, links: [customer_account, account_transaction]}
"""


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "vault.yml").write_text(text)
    return tmp_path


def test_a_project_without_vault_yml_has_no_vault(tmp_path: Path) -> None:
    assert load_vault(tmp_path) is None


def test_the_spec_is_read_into_what_the_dbt_package_reads(tmp_path: Path) -> None:
    vault = load_vault(_write(tmp_path, GOOD))
    assert vault is not None
    data = vault.dbt_var()
    assert data["hubs"]["customer"]["keys"] == ["customer_id"]
    assert data["bridges"]["customer_transaction"]["links"] == [
        "customer_account",
        "account_transaction",
    ]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (
            ("parent: customer", "parent: client"),
            "satellites.customer.parent: 'client' is not one of the hubs",
        ),
        (
            ("{customer: [customer_id], account", "{client: [customer_id], account"),
            "links.customer_account.hubs: 'client' is not one of the hubs",
        ),
        (
            ("satellites: [customer]", "satellites: [account]"),
            "pits.customer.satellites: 'account' is not a satellite of hub 'customer'",
        ),
        (
            ("links: [customer_account, account_transaction]", "links: [account_transaction]"),
            "bridges.customer_transaction.links: 'account_transaction' joins none of customer reached before it",
        ),
        (
            ("links: [customer_account, account_transaction]", "links: [customer_account, nope]"),
            "bridges.customer_transaction.links: 'nope' is not one of the links",
        ),
        (
            (
                "keys: [customer_id], record_source: crm.customers}\n  account",
                "keys: [], record_source: crm.customers}\n  account",
            ),
            "hubs.customer.keys: List should have at least 1 item",
        ),
        (
            ("record_source: fin.tx}\nlinks", "record_source: fin.tx, colour: red}\nlinks"),
            "hubs.transaction.colour: Extra inputs are not permitted",
        ),
    ],
)
def test_each_problem_is_named_by_its_place(
    tmp_path: Path, change: tuple[str, str], problem: str
) -> None:
    assert change[0] in GOOD
    with pytest.raises(ConfigError) as raised:
        load_vault(_write(tmp_path, GOOD.replace(*change)))
    assert problem in str(raised.value)
    assert "vault.yml" in str(raised.value)


def test_yaml_that_does_not_parse_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_vault(_write(tmp_path, "hubs: {customer: [unclosed"))


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("{link: account_transaction}", "effectivity.tx: name one of driving_hub"),
        (
            "{link: account_transaction, driving_hub: transaction, driving_key: {tx: [transaction_id]}}",
            "effectivity.tx: name one of driving_hub",
        ),
        (
            "{link: account_transaction, driving_key: {tx: [transaction_id], n: [x]}}",
            "effectivity.tx.driving_key: one name and its columns",
        ),
        ("{link: account_transaction, driving_key: {tx: []}}", "effectivity.tx.driving_key"),
    ],
)
def test_an_effectivity_entry_names_one_driving_hub_or_key(
    tmp_path: Path, entry: str, problem: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        load_vault(_write(tmp_path, GOOD + f"effectivity:\n  tx: {entry}\n"))
    assert problem in str(raised.value)


def test_an_effectivity_entry_may_be_driven_by_a_key_that_is_no_hub(tmp_path: Path) -> None:
    entry = "{link: account_transaction, driving_key: {posting: [posting_id]}}"
    vault = load_vault(_write(tmp_path, GOOD + f"effectivity:\n  tx: {entry}\n"))
    assert vault is not None
    assert vault.dbt_var()["effectivity"]["tx"]["driving_key"] == {"posting": ["posting_id"]}
