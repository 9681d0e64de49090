# A production Basin platform on AWS and Snowflake: the lake bucket, the workloads'
# IAM roles, and Snowflake's databases, warehouses and roles. Copy this folder, set
# the variables (terraform.tfvars), `terraform init && terraform plan`.

terraform {
  required_version = ">= 1.6"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.40, < 7.0"
    }
    snowflake = {
      source  = "snowflakedb/snowflake"
      version = ">= 2.0, < 3.0"
    }
  }
}

variable "project" {
  description = "The Basin project's name (project: in basin.yml)."
  type        = string
}

variable "region" {
  description = "AWS region of the lake."
  type        = string
  default     = "eu-central-1"
}

variable "lake_bucket" {
  description = "Name of the lake bucket."
  type        = string
}

variable "access_log_bucket" {
  description = "Bucket for S3 access logs (null: none)."
  type        = string
  default     = null
}

variable "trusted_principals" {
  description = "Workload (loader, transformer, bi) to principal ARNs allowed to assume its role."
  type        = map(list(string))
}

provider "aws" {
  region = var.region
}

# Snowflake's provider reads its account and key-pair login from SNOWFLAKE_* variables.
provider "snowflake" {}

module "lake" {
  source            = "../../modules/lake_bucket"
  bucket            = var.lake_bucket
  prefix            = var.project
  access_log_bucket = var.access_log_bucket
  tags              = { "basin:project" = var.project }
}

module "roles" {
  source             = "../../modules/aws_roles"
  name_prefix        = var.project
  bucket_arn         = module.lake.bucket_arn
  kms_key_arn        = module.lake.kms_key_arn
  prefix             = var.project
  trusted_principals = var.trusted_principals
  tags               = { "basin:project" = var.project }
}

module "snowflake" {
  source      = "../../modules/snowflake"
  role_prefix = "${var.project}_"
  databases   = [upper("${var.project}_dev"), upper("${var.project}_prod")]
}

output "basin_yml" {
  description = "What basin.yml's production environment takes from here."
  value = {
    lake_url = module.lake.lake_url
    compute  = module.snowflake.compute
    roles    = module.roles.role_arns
  }
}
