"""What `pulumi up` ships: the runtime rendered from templates (config, image, Kubernetes manifests) and the
Salesforce bridge packaged as a Metadata API deploy. It lives here, not in ``runtime/``, because the providers
need it and the runtime must not be imported by them (the layer contracts in ``.importlinter``)."""
