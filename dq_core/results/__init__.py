"""Run results (``dq.run-result/v1``) and their exports."""
