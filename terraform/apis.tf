# The APIs tally uses. They stay enabled on destroy: other things in the project may
# use them, and disabling an API can take dependent resources with it.

locals {
  apis = [
    "artifactregistry.googleapis.com", # images of the 2nd-gen functions
    "cloudbuild.googleapis.com",       # builds the functions from the source archive
    "cloudfunctions.googleapis.com",
    "cloudresourcemanager.googleapis.com", # project IAM bindings
    "cloudscheduler.googleapis.com",
    "eventarc.googleapis.com", # Pub/Sub triggers of 2nd-gen functions
    "firestore.googleapis.com",
    "iam.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com", # 2nd-gen functions run on Cloud Run
    "secretmanager.googleapis.com",
    "storage.googleapis.com",
  ]
}

resource "google_project_service" "apis" {
  for_each = toset(local.apis)

  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}

# An API that was just enabled can answer "has not been used in project ... or it is
# disabled" for a minute or two: Service Usage reports it enabled before every region
# serves it. Everything that calls an API waits for this instead of for the enablement.
# `triggers`: enabling another API later waits again.
resource "time_sleep" "apis_enabled" {
  create_duration = "60s"

  triggers = {
    apis = join(",", sort([for api in google_project_service.apis : api.service]))
  }
}
