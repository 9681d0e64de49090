variable "bucket" {
  description = "Name of the lake bucket (lake.url: s3://<bucket>/<prefix> in basin.yml)."
  type        = string
}

variable "prefix" {
  description = "The project's prefix in the bucket (lake.url's path), without slashes."
  type        = string
  default     = "basin"
}

variable "quarantine_days" {
  description = "Days quarantined rows are kept before they expire (release them first)."
  type        = number
  default     = 90
}

variable "noncurrent_days" {
  description = "Days a replaced or deleted object's earlier version is kept (the lake is written once: only mistakes and restores make them)."
  type        = number
  default     = 30
}

variable "access_log_bucket" {
  description = "Bucket receiving S3 server access logs (null: no access logging)."
  type        = string
  default     = null
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete a bucket that still holds objects (never in production)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags on every resource."
  type        = map(string)
  default     = {}
}
