package api

// Docker apps (`push NAME --docker-image REF`): staging resolves the image's tag
// to a digest once and, with the private registry cache on, copies the image into
// the cache; cells then pull and run it (DIEGO.md §7.1-7.2, docs/staging.md).

// DockerPush is the Docker part of a push.
type DockerPush struct {
	// Image is registry/repository[:tag|@digest]; without a registry host it
	// names a repository of the cluster's upstream registry.
	Image string `json:"image"`
	// Username and Password open a private image (cf reads the password from
	// CF_DOCKER_PASSWORD; so does diegolab).
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	// Cache turns the private registry cache on or off for this app (nil: the
	// cluster's default, `live up --registry-cache`).
	Cache *bool `json:"cache,omitempty"`
}

// DockerApp is what `app NAME` shows of a Docker app.
type DockerApp struct {
	Image    string `json:"image"`
	Username string `json:"username,omitempty"`
	Cache    bool   `json:"cache"`
	// Digest is what staging resolved the image to; RunImage what cells pull
	// (the cache's repository@digest, or Image itself without the cache).
	Digest   string `json:"digest,omitempty"`
	RunImage string `json:"run_image,omitempty"`
}

// DockerRun is what a cell needs to pull and run an image (run info).
type DockerRun struct {
	// Image is the reference to pull (by digest with the cache, else as pushed).
	Image string `json:"image"`
	// Username and Password are presented at every pull (only without the
	// cache: with it they were used once, by staging, and are not kept).
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	// WorkingDir is the image's working directory.
	WorkingDir string `json:"working_dir,omitempty"`
	// CacheRepo (staging only) is where staging copies the image (empty: no cache).
	CacheRepo string `json:"cache_repo,omitempty"`
}

// DockerStaged is a Docker staging's result.
type DockerStaged struct {
	Digest     string   `json:"digest"`
	RunImage   string   `json:"run_image"`
	Cached     bool     `json:"cached"`
	Entrypoint []string `json:"entrypoint,omitempty"`
	Cmd        []string `json:"cmd,omitempty"`
	Env        []string `json:"env,omitempty"`
	WorkingDir string   `json:"working_dir,omitempty"`
	User       string   `json:"user,omitempty"`
	Ports      []int    `json:"ports,omitempty"`
	// CopiedBytes is what the copy into the cache moved.
	CopiedBytes int64 `json:"copied_bytes,omitempty"`
}
