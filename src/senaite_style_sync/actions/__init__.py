"""What both the browser views and the REST services do: Remotes, steps, jobs, conflicts."""
