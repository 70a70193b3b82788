"""GitOps commands: `plan` (preview reports for pull requests), `drift` (scheduled drift checks) and `export`
(a spec from a setup made by hand). See docs/gitops.md."""
