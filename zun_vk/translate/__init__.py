"""Pure translation between Kubernetes objects and Zun objects.

No I/O here: the pod handler fetches what a translation needs, passes it
in, and writes the result out.
"""
