"""The local host behind ``dq run`` and ``dq serve``: the Durable replay driver and extension, and
``dq serve`` itself."""
