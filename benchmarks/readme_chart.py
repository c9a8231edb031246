"""The README's chart: `iamauth metrics prod-db --since 24h --png FILE` on the demo's data.

    python -m benchmarks.readme_chart [FILE]      (default: docs/images/metrics-chart.png)

moto's server runs in this process and is seeded by `iamauth demo`'s seed() (a realistic day of
prod-db traffic, with an ExpiredToken burst 20 minutes ago); the real CLI then runs in a new
process against it, as a person would run it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from bot.adapters.aws.clients import AwsClients, AwsSettings
from bot.sandbox.aws_emulator import REGION, embedded_aws
from bot.sandbox.demo import seed

DEFAULT_FILE = Path("docs/images/metrics-chart.png")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT_FILE)
    args = parser.parse_args()
    args.file.parent.mkdir(parents=True, exist_ok=True)
    with embedded_aws() as endpoint:
        seed(AwsClients(AwsSettings(region=REGION, endpoint_url=endpoint)), datetime.now(UTC))
        env = {**os.environ, "AWS_ENDPOINT_URL": endpoint}
        env.pop("IAMAUTH_CONFIG", None)
        command = ["metrics", "prod-db", "--since", "24h", "--png", str(args.file)]
        print("iamauth", " ".join(command))
        # Our own interpreter running our own CLI with fixed arguments.
        done = subprocess.run([sys.executable, "-m", "bot", *command], env=env, check=False)  # noqa: S603
        return done.returncode


if __name__ == "__main__":
    raise SystemExit(main())
