# One IAM role per workload, each allowed only what its Basin steps do on the lake:
#
# - loader      (extract, load, replay, quarantine release): reads and writes the
#               batches and quarantine under the project's prefix;
# - transformer (transform, publish, drill, backup): reads the lake (a drill and a
#               replay rebuild from it) and writes backups under <prefix>/backups/;
# - bi          (Superset, the web UI): nothing in the lake — it reads the warehouse.
#               Its role exists so the BI hosts' identity is declared with the others.

locals {
  objects = "${var.bucket_arn}/${var.prefix}"
  lake_read = [
    {
      Sid      = "List"
      Effect   = "Allow"
      Action   = ["s3:ListBucket"]
      Resource = [var.bucket_arn]
      Condition = { StringLike = { "s3:prefix" = ["${var.prefix}/*", var.prefix] } }
    },
    {
      Sid      = "Read"
      Effect   = "Allow"
      Action   = ["s3:GetObject"]
      Resource = ["${local.objects}/*"]
    },
    {
      Sid      = "Decrypt"
      Effect   = "Allow"
      Action   = ["kms:Decrypt"]
      Resource = [var.kms_key_arn]
    },
  ]
  encrypt = {
    Sid      = "Encrypt"
    Effect   = "Allow"
    Action   = ["kms:GenerateDataKey"]
    Resource = [var.kms_key_arn]
  }
  policies = {
    loader = concat(local.lake_read, [local.encrypt, {
      Sid      = "WriteBatches"
      Effect   = "Allow"
      Action   = ["s3:PutObject", "s3:DeleteObject"]
      Resource = ["${local.objects}/bronze/*", "${local.objects}/quarantine/*"]
    }])
    transformer = concat(local.lake_read, [local.encrypt, {
      Sid      = "WriteBackups"
      Effect   = "Allow"
      Action   = ["s3:PutObject"]
      Resource = ["${local.objects}/backups/*"]
    }])
    bi = []
  }
}

data "aws_iam_policy_document" "assume" {
  for_each = local.policies
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "AWS"
      identifiers = lookup(var.trusted_principals, each.key, [])
    }
  }
}

resource "aws_iam_role" "workload" {
  for_each             = local.policies
  name                 = "${var.name_prefix}-basin-${each.key}"
  assume_role_policy   = data.aws_iam_policy_document.assume[each.key].json
  max_session_duration = 43200
  tags                 = merge(var.tags, { "basin:workload" = each.key })
}

resource "aws_iam_role_policy" "lake" {
  for_each = { for name, statements in local.policies : name => statements if length(statements) > 0 }
  name     = "basin-lake"
  role     = aws_iam_role.workload[each.key].id
  policy   = jsonencode({ Version = "2012-10-17", Statement = each.value })
}
