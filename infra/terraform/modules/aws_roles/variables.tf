variable "name_prefix" {
  description = "Prefix of the roles' names, e.g. the project's name."
  type        = string
}

variable "bucket_arn" {
  description = "The lake bucket's ARN (module lake_bucket's bucket_arn)."
  type        = string
}

variable "kms_key_arn" {
  description = "The KMS key encrypting the lake (module lake_bucket's kms_key_arn)."
  type        = string
}

variable "prefix" {
  description = "The project's prefix in the bucket (lake.url's path), without slashes."
  type        = string
  default     = "basin"
}

variable "trusted_principals" {
  description = "Who may assume each role: workload name (loader, transformer, bi) to principal ARNs, e.g. the Airflow workers' instance or pod roles."
  type        = map(list(string))
}

variable "tags" {
  description = "Tags on every resource."
  type        = map(string)
  default     = {}
}
