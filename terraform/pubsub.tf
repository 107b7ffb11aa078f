# One topic per function. Cloud Scheduler publishes a message per tick; each
# function's Eventarc trigger subscribes to its own topic, and each function publishes
# its shards to it (TALLY_COLLECT_TOPIC, TALLY_RENDER_TOPIC: main.tf), which its
# runtime account may do on that topic alone (iam.tf).

resource "google_pubsub_topic" "collect" {
  #checkov:skip=CKV_GCP_83:The messages carry only a tick (no data); Google-managed encryption is enough and a KMS key costs money.
  project                    = var.project_id
  name                       = local.collect_topic_name
  message_retention_duration = "86400s"
  depends_on                 = [time_sleep.apis_enabled]
}

resource "google_pubsub_topic" "render" {
  #checkov:skip=CKV_GCP_83:The messages carry only a tick (no data); Google-managed encryption is enough and a KMS key costs money.
  project                    = var.project_id
  name                       = local.render_topic_name
  message_retention_duration = "86400s"
  depends_on                 = [time_sleep.apis_enabled]
}
