"""The client's resource namespaces (``client.workflows``, ``client.executions``…), sync and async."""
