from support.contract import served_sandbox, target

__all__ = ["served_sandbox", "target"]
