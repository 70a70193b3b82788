"""The Pulumi program: the stack's spec, validated before anything else, declared as resources in order.

The spec is `stacks/<stack>.yaml` unless the stack sets `presence-sync:spec`. An invalid spec stops the run
here, before any resource is registered, so no API is called.
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
