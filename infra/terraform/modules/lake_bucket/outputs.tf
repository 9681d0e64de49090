output "bucket" {
  description = "The lake bucket's name."
  value       = aws_s3_bucket.lake.id
}

output "bucket_arn" {
  description = "The lake bucket's ARN."
  value       = aws_s3_bucket.lake.arn
}

output "kms_key_arn" {
  description = "The KMS key encrypting the lake."
  value       = aws_kms_key.lake.arn
}

output "lake_url" {
  description = "lake.url for basin.yml."
  value       = "s3://${aws_s3_bucket.lake.id}/${var.prefix}"
}
