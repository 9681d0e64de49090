variable "role_prefix" {
  description = "access.role_prefix in basin.yml (default there: '<project>_'): the roles are <prefix><role>, as `basin access plan --sql` names them."
  type        = string
}

variable "databases" {
  description = "One database per environment, as each environment's warehouse.database in basin.yml (e.g. ANALYTICS_DEV, ANALYTICS_PROD)."
  type        = list(string)
}

variable "warehouses" {
  description = "warehouse.compute in basin.yml: a virtual warehouse per workload, so loading, dbt and BI never queue behind each other."
  type = object({
    load      = string
    transform = string
    bi        = string
  })
  default = {
    load      = "LOAD_WH"
    transform = "TRANSFORM_WH"
    bi        = "BI_WH"
  }
}

variable "warehouse_sizes" {
  description = "Size of each workload's warehouse."
  type        = map(string)
  default = {
    load      = "XSMALL"
    transform = "SMALL"
    bi        = "XSMALL"
  }
}

variable "auto_suspend_seconds" {
  description = "Idle seconds before a warehouse suspends (credits stop)."
  type        = number
  default     = 60
}

variable "statement_timeout_seconds" {
  description = "Longest statement each workload's warehouse runs."
  type        = map(number)
  default = {
    load      = 3600
    transform = 7200
    bi        = 300
  }
}

variable "time_travel_days" {
  description = "Days of Time Travel on each database: how far back a Snowflake environment can be restored (basin backup is not built for Snowflake)."
  type        = number
  default     = 7
}
