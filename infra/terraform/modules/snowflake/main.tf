# Snowflake for a Basin project: a database per environment, a virtual warehouse per
# workload, and Basin's built-in roles (basin.access.configuration.BUILT_IN) with the
# warehouse each may use. Privileges on schemas and tables — raw, the audit schemas,
# the published ones, masking and row access policies — are Basin's: apply the output
# of `basin access plan --sql` (its CREATE ROLE IF NOT EXISTS meets these roles).

locals {
  roles = ["admin", "engineer", "analyst", "viewer", "basin_loader", "basin_transformer", "basin_bi"]
  role_names = { for r in local.roles : r => upper("${var.role_prefix}${r}") }
  # Which workload's warehouse each role runs on.
  role_workload = {
    admin             = "transform"
    engineer          = "transform"
    analyst           = "bi"
    viewer            = "bi"
    basin_loader      = "load"
    basin_transformer = "transform"
    basin_bi          = "bi"
  }
  # Roles that create schemas (raw, _basin, the audit and published schemas).
  schema_creators = ["admin", "basin_loader", "basin_transformer"]
  database_grants = {
    for pair in setproduct(local.roles, var.databases) : "${pair[0]}:${pair[1]}" => {
      role       = pair[0]
      database   = pair[1]
      privileges = contains(local.schema_creators, pair[0]) ? ["USAGE", "CREATE SCHEMA"] : ["USAGE"]
    }
  }
}

resource "snowflake_database" "environment" {
  for_each                    = toset(var.databases)
  name                        = each.value
  data_retention_time_in_days = var.time_travel_days
  comment                     = "Basin environment database (managed by Terraform)"
}

resource "snowflake_warehouse" "workload" {
  for_each                            = var.warehouses
  name                                = each.value
  warehouse_size                      = var.warehouse_sizes[each.key]
  auto_suspend                        = var.auto_suspend_seconds
  auto_resume                         = "true"
  initially_suspended                 = true
  statement_timeout_in_seconds        = var.statement_timeout_seconds[each.key]
  statement_queued_timeout_in_seconds = 600
  comment                             = "Basin ${each.key} workload"
}

resource "snowflake_account_role" "basin" {
  for_each = local.role_names
  name     = each.value
  comment  = "Basin role ${each.key}"
}

# Basin's admin role sits under SYSADMIN, so the account's administrators see what it owns.
resource "snowflake_grant_account_role" "admin_to_sysadmin" {
  role_name        = snowflake_account_role.basin["admin"].name
  parent_role_name = "SYSADMIN"
}

resource "snowflake_grant_privileges_to_account_role" "warehouse_usage" {
  for_each          = local.role_workload
  account_role_name = snowflake_account_role.basin[each.key].name
  privileges        = ["USAGE"]
  on_account_object {
    object_type = "WAREHOUSE"
    object_name = snowflake_warehouse.workload[each.value].name
  }
}

resource "snowflake_grant_privileges_to_account_role" "database" {
  for_each          = local.database_grants
  account_role_name = snowflake_account_role.basin[each.value.role].name
  privileges        = each.value.privileges
  on_account_object {
    object_type = "DATABASE"
    object_name = snowflake_database.environment[each.value.database].name
  }
}
