"""`python -m api [--host 127.0.0.1] [--port 8000]`: serve the API with uvicorn."""

import argparse

import uvicorn


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m api", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    uvicorn.run("api.app:app", host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
