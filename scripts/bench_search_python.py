"""One side of scripts/bench-search: Google's official Python client (the `google-ads`
package) reading a SearchStream report of campaign.id, campaign.name and campaign.status from
the fake, with a fixed access token. Prints the same line as benches/search_throughput.rs:
`side rows seconds rows_per_second peak_rss_kib checksum`.

Usage: python bench_search_python.py proto-plus|no-proto-plus HOST:PORT [LIMIT]
The fake's certificate is trusted through GRPC_DEFAULT_SSL_ROOTS_FILE_PATH (set by the
script that runs this).
"""

import resource
import sys
import time

from google.ads.googleads.client import GoogleAdsClient
from google.oauth2.credentials import Credentials

CUSTOMER = "1234567890"
QUERY = "SELECT campaign.id, campaign.name, campaign.status FROM campaign"


def main():
    mode, endpoint = sys.argv[1], sys.argv[2]
    query = QUERY + (f" LIMIT {sys.argv[3]}" if len(sys.argv) > 3 else "")
    proto_plus = mode == "proto-plus"
    client = GoogleAdsClient(
        credentials=Credentials(token="bench-token"),
        developer_token="bench-dev-token",
        endpoint=endpoint,
        use_proto_plus=proto_plus,
        version="v26",
    )
    service = client.get_service("GoogleAdsService", version="v26")
    started = time.perf_counter()
    rows = 0
    checksum = 0
    for batch in service.search_stream(customer_id=CUSTOMER, query=query):
        for row in batch.results:
            campaign = row.campaign
            # proto-plus enums are IntEnum values: int() works in both modes.
            checksum += campaign.id + len(campaign.name) + int(campaign.status)
            rows += 1
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    side = "python-proto-plus" if proto_plus else "python-no-proto-plus"
    print(f"{side} {rows} {seconds:.3f} {rows / seconds:.0f} {peak_kib} {checksum % 2**64}")


if __name__ == "__main__":
    main()
