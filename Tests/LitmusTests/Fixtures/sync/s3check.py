"""What the sync tests ask of the S3 server, answered by boto3 and DuckDB (independent of Litmus).

    python s3check.py create ENDPOINT BUCKET            bucket with versioning on (a second upload of a key shows as a second version)
    python s3check.py verify ENDPOINT BUCKET PREFIX DATADIR...
        compares the bucket with the data directories' finished files: prints JSON with
        expected, objects, missing, extra, duplicated (keys with more than one version),
        mismatched (content differs), open_multipart
    python s3check.py duckdb ENDPOINT BUCKET PREFIX     one DuckDB statement over every station's runs (httpfs)
"""
import hashlib, json, os, sys

import boto3


def client(endpoint):
    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
                        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"), region_name="us-east-1")


def finished_files(data):
    out = {}
    for top in ("runs", "events", "channels"):
        for root, dirs, files in os.walk(os.path.join(data, top)):
            for name in files:
                if name.startswith(".") or ".partial-" in name:
                    continue
                if top == "runs" and not name.endswith(".parquet"):
                    continue
                if top == "events" and not name.endswith(".jsonl"):
                    continue
                path = os.path.join(root, name)
                out[os.path.relpath(path, data)] = path
    return out


def verify(endpoint, bucket, prefix, datas):
    s3 = client(endpoint)
    expected = {}
    for d in datas:
        for rel, path in finished_files(d).items():
            expected[(prefix + "/" if prefix else "") + rel] = path
    versions = {}
    paginator = s3.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=bucket):
        for v in page.get("Versions", []):
            versions.setdefault(v["Key"], []).append(v)
    mismatched = []
    for key, path in expected.items():
        if key in versions:
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            with open(path, "rb") as f:
                if hashlib.sha256(body).digest() != hashlib.sha256(f.read()).digest():
                    mismatched.append(key)
    uploads = s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    print(json.dumps({
        "expected": len(expected),
        "objects": len(versions),
        "missing": sorted(k for k in expected if k not in versions),
        "extra": sorted(k for k in versions if k not in expected),
        "duplicated": sorted(k for k, v in versions.items() if len(v) > 1),
        "mismatched": sorted(mismatched),
        "open_multipart": len(uploads),
    }))


def duck(endpoint, bucket, prefix):
    import duckdb, duckdb_extension_httpfs
    ext_dir = os.path.join(os.path.dirname(duckdb_extension_httpfs.__file__), "extensions")
    ext = os.path.join(ext_dir, os.listdir(ext_dir)[0], "httpfs.duckdb_extension")
    con = duckdb.connect()
    con.execute("LOAD '%s'" % ext)
    host = endpoint.split("://", 1)[1]
    con.execute("CREATE SECRET (TYPE s3, KEY_ID 'test', SECRET 'test', ENDPOINT '%s', URL_STYLE 'path', USE_SSL false, REGION 'us-east-1')" % host)
    rows = con.execute(
        "SELECT station, count(DISTINCT run_id) AS runs, count(*) AS measurements "
        "FROM read_parquet('s3://%s/%s/runs/**/*.parquet', hive_partitioning = true) GROUP BY station ORDER BY station" % (bucket, prefix)
    ).fetchall()
    print(json.dumps([list(r) for r in rows]))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "create":
        s3 = client(sys.argv[2])
        s3.create_bucket(Bucket=sys.argv[3])
        s3.put_bucket_versioning(Bucket=sys.argv[3], VersioningConfiguration={"Status": "Enabled"})
        print(json.dumps({"created": sys.argv[3]}))
    elif cmd == "verify":
        verify(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:])
    elif cmd == "duckdb":
        duck(sys.argv[2], sys.argv[3], sys.argv[4])
