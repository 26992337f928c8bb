"""Schemathesis hooks for the API fuzzer: project B's ids offered as path values, and a check
that no response to a member of project A carries project B's marker."""
import json
import os

import schemathesis

SEED = json.load(open(os.environ["SB_FUZZ_SEED"]))
MARKER = SEED["marker"]


@schemathesis.check
def no_other_project_data(ctx, response, case):
    # The owner created project B and is a member of it; only the agent (A only) must never see it.
    if os.environ.get("SB_FUZZ_AS") != "agent":
        return None
    if MARKER in response.text:
        raise AssertionError(f"project B's marker in a response to project A's agent: {case.path}")
    return None
