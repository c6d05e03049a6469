# The workspace's code reader: parses generated Python without running it. Started once per
# worker process and kept (src/python-reader.ts); one JSON request per line on stdin, one answer
# per line on stdout. Only ast.parse and compile() here: generated code is executed only in the
# scrubbed test processes, never in this one.
import ast, json, sys

# Syntax check and placeholder scan. compile() (not only ast.parse) also catches `return`
# outside a function and the like. Placeholders are found on the AST so that abstract methods,
# overloads and Protocols, where `...` is the idiom, are not flagged.
ABSTRACT = {"abstractmethod", "overload", "abstractproperty"}
FUNCTION_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef)

def deco_name(d):
    d = d.func if isinstance(d, ast.Call) else d
    return d.attr if isinstance(d, ast.Attribute) else getattr(d, "id", "")

def not_implemented(stmt):
    if not isinstance(stmt, ast.Raise) or stmt.exc is None:
        return False
    e = stmt.exc.func if isinstance(stmt.exc, ast.Call) else stmt.exc
    return getattr(e, "id", "") == "NotImplementedError"

def base_name(b):
    # `typing.Protocol[T]` -> "Protocol"
    return ast.unparse(b).split(".")[-1].split("[")[0]

def bare_constant(stmt, test):
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and test(stmt.value.value)

def is_docstring(stmt):
    return bare_constant(stmt, lambda v: isinstance(v, str))

def is_ellipsis(stmt):
    return bare_constant(stmt, lambda v: v is Ellipsis)

def placeholders(tree):
    found, passes, functions = [], [], 0
    protocols = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and any(base_name(b) in ("Protocol", "ABC") for b in node.bases):
            protocols.update(id(n) for n in node.body)
    for node in ast.walk(tree):
        if not isinstance(node, FUNCTION_DEFS):
            continue
        if id(node) in protocols or any(deco_name(d) in ABSTRACT for d in node.decorator_list):
            continue
        body = node.body
        if body and is_docstring(body[0]):
            body = body[1:]
        if len(body) == 1 and is_ellipsis(body[0]):
            found.append("line %d: %s() body is only '...'" % (node.lineno, node.name))
        elif len(body) == 1 and isinstance(body[0], ast.Pass):
            passes.append("line %d: %s() body is only 'pass'" % (node.lineno, node.name))
        elif any(not_implemented(s) for s in body):  # a conditional raise for an unsupported case is fine
            found.append("line %d: %s() raises NotImplementedError" % (node.lineno, node.name))
        else:
            dots = [s for s in ast.walk(node) if is_ellipsis(s)]
            if dots:
                found.append("line %d: %s() has a '...' placeholder" % (dots[0].lineno, node.name))
        functions += 1
    # One no-op method is normal; a file of them is a skeleton.
    if passes and (len(passes) >= 2 or len(passes) == functions):
        found.extend(passes)
    return found

def check(items):
    out = {}
    for item in items:
        try:
            tree = ast.parse(item["source"], item["name"])
            compile(item["source"], item["name"], "exec", dont_inherit=True)
            out[item["name"]] = {"error": None, "placeholders": placeholders(tree)}
        except SyntaxError as e:
            out[item["name"]] = {"error": "line %s: %s" % (e.lineno, e.msg), "placeholders": []}
        except Exception as e:
            out[item["name"]] = {"error": type(e).__name__ + ": " + str(e), "placeholders": []}
    return out

# Public classes (with fields and method signatures) and functions of each file, for prompts.
def sig(f):
    prefix = "async def " if isinstance(f, ast.AsyncFunctionDef) else "def "
    ret = " -> " + ast.unparse(f.returns) if f.returns else ""
    return prefix + f.name + "(" + ast.unparse(f.args) + ")" + ret

def public(name):
    return not name.startswith("_")

def names(paths):
    out = {}
    for path in paths:
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                tree = ast.parse(fh.read(), path)
        except Exception as e:
            out[path] = {"classes": [], "functions": [], "error": type(e).__name__ + ": " + str(e)}
            continue
        classes, functions = [], []
        for node in tree.body:
            if isinstance(node, FUNCTION_DEFS) and public(node.name):
                functions.append(sig(node))
            elif isinstance(node, ast.ClassDef) and public(node.name):
                fields, methods = [], []
                for item in node.body:
                    if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name) and public(item.target.id):
                        fields.append(item.target.id + ": " + ast.unparse(item.annotation))
                    elif isinstance(item, FUNCTION_DEFS) and (public(item.name) or item.name == "__init__"):
                        methods.append(sig(item))
                classes.append({
                    "name": node.name,
                    "decorators": ["@" + ast.unparse(d) for d in node.decorator_list],
                    "bases": [ast.unparse(b) for b in node.bases],
                    "fields": fields,
                    "methods": methods,
                })
        out[path] = {"classes": classes, "functions": functions}
    return out

OPS = {"check": check, "names": names}

# One request per line, one answer per line, in order: {"id", "op", "arg"} -> {"id", "result"|"error"}.
for line in sys.stdin:
    req = json.loads(line)
    try:
        reply = {"id": req["id"], "result": OPS[req["op"]](req["arg"])}
    except Exception as e:
        reply = {"id": req["id"], "error": type(e).__name__ + ": " + str(e)}
    sys.stdout.write(json.dumps(reply) + "\n")
    sys.stdout.flush()
