output "roles" {
  description = "Basin role to Snowflake role name."
  value       = { for r, role in snowflake_account_role.basin : r => role.name }
}

output "compute" {
  description = "warehouse.compute for basin.yml."
  value       = { for w, wh in snowflake_warehouse.workload : w => wh.name }
}
