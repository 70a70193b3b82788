"""The Pulumi program: the stack's spec, validated before anything else, declared as resources in order.

The spec is `stacks/<stack>.yaml` unless the stack sets `presence-sync:spec`. An invalid spec stops the run
here, before any resource is registered, so no API is called. `declare` then looks up, read-only, the names the
spec takes from the org and tenant (resources/preflight.py): a missing one stops the run the same way, so a
preview fails, and an `up` stops, before anything is written.
"""

from pathlib import Path

import pulumi

from presence_sync.spec import SpecError, load_spec
from resources.stack import declare, export_outputs

config = pulumi.Config()
spec_path = Path(config.get("spec") or f"stacks/{pulumi.get_stack()}.yaml")
try:
    spec = load_spec(spec_path)
except SpecError as error:
    raise pulumi.RunError(str(error)) from None

export_outputs(spec, declare(spec))
