# One Secret Manager secret per ${env:NAME} that tally.yaml uses: in a source's url,
# headers or github token, and in a `notify:` channel's Apprise URL (main.tf,
# secret_names). Terraform creates the secret, never its value: add the value with
# `gcloud secrets versions add` (docs/deploy.md, "A GitHub token, a Slack webhook"), then list the name in
# `secrets_with_value` (in terraform.tfvars) and apply again to expose it to the
# collector, which fetches the sources and sends the notifications. Until then a
# source fails with "environment variable NAME is not set", and so does a channel.

resource "google_secret_manager_secret" "env" {
  for_each = toset(local.secret_names)

  project   = var.project_id
  secret_id = "${local.prefix}-${each.value}"
  labels = {
    env_name = lower(each.value)
  }

  # Its value was added by hand: neither a destroy nor a `${env:NAME}` dropped from
  # tally.yaml deletes it unless deletion_protection is turned off first (docs/deploy.md, "Tear down").
  deletion_protection = var.deletion_protection

  replication {
    auto {}
  }

  depends_on = [time_sleep.apis_enabled]
}

# The collector may read its own secrets, one binding per secret (not project-wide).
resource "google_secret_manager_secret_iam_member" "collector" {
  for_each = google_secret_manager_secret.env

  project   = var.project_id
  secret_id = each.value.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.collector.email}"
}
