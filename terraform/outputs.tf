output "page_url" {
  description = "The page (index.html of the site bucket; with site_public = false, read signed in). It appears after the first render, within render_every of the apply."
  value       = "https://${local.site_host}/${google_storage_bucket.site.name}/index.html"
}

output "dashboard_url" {
  description = "The Cloud Monitoring dashboard: the pipeline (executions, failed deliveries, latency, heartbeats) and the sources' charts, for the source picked in its `source` variable."
  value       = "https://console.cloud.google.com/monitoring/dashboards/builder/${element(split("/", google_monitoring_dashboard.main.id), length(split("/", google_monitoring_dashboard.main.id)) - 1)}?project=${var.project_id}"
}

output "function_names" {
  description = "The two functions (2nd gen; each runs as a Cloud Run service of the same name)."
  value = {
    collect = google_cloudfunctions2_function.collect.name
    render  = google_cloudfunctions2_function.render.name
  }
}

output "bucket_names" {
  description = "site: the public page's objects; functions: the functions' source archives."
  value = {
    site      = google_storage_bucket.site.name
    functions = google_storage_bucket.functions.name
  }
}

output "topic_names" {
  description = "The Pub/Sub topics the scheduler jobs publish to (publish to one by hand to run a tick now)."
  value = {
    collect = google_pubsub_topic.collect.name
    render  = google_pubsub_topic.render.name
  }
}

output "scheduler_jobs" {
  description = "The two Cloud Scheduler jobs (whatever the number of sources)."
  value = {
    collect = google_cloud_scheduler_job.collect.name
    render  = google_cloud_scheduler_job.render.name
  }
}

output "secrets_awaiting_value" {
  description = "Secrets that tally.yaml references but that are not yet exposed to the collector: add each value with `gcloud secrets versions add`, list its name in secrets_with_value, apply again."
  value       = { for name in local.secret_names : name => google_secret_manager_secret.env[name].secret_id if !contains(local.bound_secrets, name) }
}
