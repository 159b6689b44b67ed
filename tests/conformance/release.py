"""What the release under test answers where 23.09 and 26.09 differ (as the captures with the
real 23.09.10 and 26.9.6 managers show). run.sh sets BAI_CONFORMANCE_RELEASE."""

import os

RELEASE = os.environ.get("BAI_CONFORMANCE_RELEASE", "23.09")
V2609 = RELEASE == "26.09"

API_VERSION = "v9.20250722" if V2609 else "v7.20230615"
API_VERSION_TUPLE = (9, "20250722") if V2609 else (7, "20230615")
# slot amounts in session info: Decimal('2') on 23.09, Decimal('2.000000') on 26.09
DECIMAL_SUFFIX = ".000000" if V2609 else ""
# a taken folder name: its own type on 23.09; a generic invalid-api-params on 26.09
FOLDER_TAKEN_TYPE = ("https://api.backend.ai/probs/invalid-api-params" if V2609
                     else "https://api.backend.ai/probs/vfolder-already-exists")


def decimal(n: str) -> str:
    return f"Decimal('{n}{DECIMAL_SUFFIX}')"
