output "role_arns" {
  description = "Workload (loader, transformer, bi) to role ARN."
  value       = { for name, role in aws_iam_role.workload : name => role.arn }
}
