// Package stage is Cloud Foundry staging as pure logic (DIEGO.md §7, §10): the staging
// Task definitions of the buildpack and docker lifecycles, the stager's error sanitizer,
// Docker image references and the private-image-cache policy, app packages with
// resource matching, and a Stager that follows each staging from request to outcome.
//
// Flow (stager + nsync, DIEGO.md §7.1, §7.3): Stage(now, req) returns the Task to desire
// in domain "cf-app-staging" (memory and disk max(app, 1024 MB / 4096 MB), 15 min
// timeout); the driver desires it through the control plane, runs it on a cell, and
// hands the task's completion callback to Completed. A successful staging yields the
// app's Droplet and its DesiredLRP (the nsync step); a failed one yields a Failure whose
// ID is the CC error id of the sanitizer table (BUILDPACK_COMPILE_FAILED,
// INSUFFICIENT_RESOURCES, STAGING_ERROR ...). Cancel stops a staging (Diego's stop =
// CancelTask).
//
// Image policy (DIEGO.md §7.2, §10): with the cache on, staging resolves the tag to a
// digest once, copies the image into the platform's private registry and discards the
// credentials; every instance then runs that digest from the private registry. With
// it off, every instance start resolves the tag at that moment and pulls from the
// public registry, presenting the credentials each time. Droplet.Pull says which.
//
// Invariants: no clock, no I/O, no goroutines, no randomness; maps are walked in sorted
// order; same inputs give the same outputs. A staging guid is staged at most once at a
// time; a completion for an unknown guid is an error (*model.NotFoundError).
package stage
