"""A client of the ZetaSQL local service: evaluate an expression, analyze a query against a catalog of
table schemas, evaluate a query or a DML statement over given table contents.

Tables are named as the compiled Dataform SQL names them (`project.dataset.table` in one pair of
backticks, which GoogleSQL reads as one name); each is also reachable as `dataset.table`.
"""

from __future__ import annotations

import grpc
from googlesql_service import GoogleSQLError, import_stubs
from googlesql_values import from_value, to_value, type_name, type_proto

local_service, local_service_grpc = import_stubs()
from zetasql.proto import function_pb2, options_pb2, simple_catalog_pb2  # noqa: E402
from zetasql.public import function_pb2 as public_function_pb2  # noqa: E402
from zetasql.public import options_pb2 as public_options_pb2  # noqa: E402
from zetasql.public import simple_table_pb2  # noqa: E402

Columns = list[tuple[str, str]]  # (name, BigQuery type name)


class GoogleSQL:
    def __init__(self, address: str, timeout_s: float = 30, log=lambda: ""):
        self.log = log  # the server's output, to name a crash
        self.channel = grpc.insecure_channel(address)
        # the server prints its start line a moment before it accepts connections
        grpc.channel_ready_future(self.channel).result(timeout=timeout_s)
        self.stub = local_service_grpc.ZetaSqlLocalServiceStub(self.channel)
        self.options = self._bigquery_options()

    def _bigquery_options(self):
        language = self.stub.GetLanguageOptions(local_service.LanguageOptionsRequest(maximum_features=True))
        language.product_mode = public_options_pb2.PRODUCT_EXTERNAL
        del language.supported_statement_kinds[:]  # empty: every statement kind
        return options_pb2.AnalyzerOptionsProto(language_options=language, default_timezone="UTC",
                                                error_message_mode=public_options_pb2.ERROR_MESSAGE_ONE_LINE)

    def close(self) -> None:
        self.channel.close()

    def _call(self, method, request):
        try:
            return method(request)
        except grpc.RpcError as error:
            unavailable = error.code() == grpc.StatusCode.UNAVAILABLE
            crashed = f"; the server's last output: {self.log()[-1500:]}" if unavailable else ""
            raise GoogleSQLError(f"{error.code().name}: {error.details()}{crashed}") from None

    # -- expressions ----------------------------------------------------------------------
    def evaluate(self, expression: str) -> tuple[object, str]:
        """The value (as Python) and BigQuery type name of one expression; GoogleSQLError if it raises."""
        response = self._call(self.stub.Evaluate, local_service.EvaluateRequest(sql=expression, options=self.options))
        kind = response.prepared.output_type
        return from_value(response.value, kind), type_name(kind)

    # -- queries over a catalog -------------------------------------------------------------
    def catalog(self, tables: dict[str, Columns]):
        """A catalog of `project.dataset.table` -> columns; MAX_BY/MIN_BY declared (ZetaSQL lacks them)."""
        catalog = simple_catalog_pb2.SimpleCatalogProto(name="bigquery")
        catalog.builtin_function_options.language_options.CopyFrom(self.options.language_options)
        datasets: dict[str, simple_catalog_pb2.SimpleCatalogProto] = {}
        for serial, (full, columns) in enumerate(sorted(tables.items()), start=1):
            dataset, table = full.split(".")[-2:]
            proto = _table(full, columns, serial)
            catalog.table.append(proto)
            if dataset not in datasets:
                datasets[dataset] = catalog.catalog.add(name=dataset)
            short = datasets[dataset].table.add()
            short.CopyFrom(proto)
            short.name = table
        catalog.custom_function.extend(_by_functions())
        return catalog

    def analyze(self, sql: str, tables: dict[str, Columns]) -> Columns:
        """The output columns GoogleSQL infers for a query (or a statement that defines a table)."""
        request = local_service.AnalyzeRequest(options=self.options, simple_catalog=self.catalog(tables),
                                               sql_statement=sql)
        statement = self._call(self.stub.Analyze, request).resolved_statement
        node = statement.WhichOneof("node")
        resolved = getattr(statement, node)
        while not hasattr(resolved, "output_column_list") and hasattr(resolved, "parent"):
            resolved = resolved.parent
        if hasattr(resolved, "output_column_list"):
            return [(c.name, type_name(c.column.type)) for c in resolved.output_column_list]
        columns = resolved.column_definition_list if hasattr(resolved, "column_definition_list") else []
        return [(c.name, type_name(c.type)) for c in columns]

    def query(self, sql: str, tables: dict[str, tuple[Columns, list[dict]]]) -> tuple[Columns, list[dict]]:
        """Run a query over the given table contents; its columns and rows (as Python values)."""
        request = local_service.EvaluateQueryRequest(
            sql=sql, options=self.options, simple_catalog=self.catalog({k: c for k, (c, _) in tables.items()}))
        for name, (columns, rows) in tables.items():
            request.table_content[name].CopyFrom(_content(columns, rows))
        response = self._call(self.stub.EvaluateQuery, request)
        columns = [(c.name, type_name(c.type)) for c in response.prepared.columns]
        kinds = list(response.prepared.columns)
        rows = [{c.name: from_value(v, c.type) for c, v in zip(kinds, row.cell, strict=True)}
                for row in response.content.table_data.row]
        return columns, rows

    def modify(self, sql: str, target: str, tables: dict[str, tuple[Columns, list[dict]]],
               primary_key: tuple[str, ...]) -> list[tuple[str, dict, tuple]]:
        """Run an INSERT, UPDATE or DELETE over the given table contents; the rows it touched, each with its
        operation (INSERT, DELETE, UPDATE), its new values and its old primary key."""
        catalog = self.catalog({k: c for k, (c, _) in tables.items()})
        positions = [[c for c, _ in tables[target][0]].index(k) for k in primary_key]
        for table in [*catalog.table, *(t for sub in catalog.catalog for t in sub.table)]:
            if table.name in (target, target.split(".")[-1]):
                table.primary_key_column_index.extend(positions)
        request = local_service.EvaluateModifyRequest(sql=sql, options=self.options, simple_catalog=catalog)
        for name, (columns, rows) in tables.items():
            request.table_content[name].CopyFrom(_content(columns, rows))
        response = self._call(self.stub.EvaluateModify, request)
        columns = tables[target][0]
        kinds = [type_proto(t) for _, t in columns]
        operation = local_service.EvaluateModifyResponse.Row.Operation
        key_kinds = [kinds[p] for p in positions]
        return [(operation.Name(row.operation),
                 {c: from_value(v, k) for (c, _), k, v in zip(columns, kinds, row.cell, strict=False)},
                 tuple(from_value(v, k) for k, v in zip(key_kinds, row.old_primary_key, strict=True)))
                for row in response.content]


def _table(name: str, columns: Columns, serial: int):
    return simple_table_pb2.SimpleTableProto(
        name=name, serialization_id=serial,
        column=[simple_table_pb2.SimpleColumnProto(name=c, type=type_proto(t)) for c, t in columns])


def _content(columns: Columns, rows: list[dict]):
    kinds = [type_proto(t) for _, t in columns]
    content = local_service.TableContent()
    content.table_data.SetInParent()  # an empty table still has (no) rows
    for row in rows:
        content.table_data.row.add(cell=[to_value(row[c], k) for (c, _), k in zip(columns, kinds, strict=True)])
    return content


def _by_functions() -> list:
    """MAX_BY(x, y) / MIN_BY(x, y): aggregates returning x's type (declared only: ZetaSQL cannot run them)."""
    kinds = public_function_pb2.SignatureArgumentKind
    any1 = function_pb2.FunctionArgumentTypeProto(kind=kinds.ARG_TYPE_ANY_1, num_occurrences=1)
    any2 = function_pb2.FunctionArgumentTypeProto(kind=kinds.ARG_TYPE_ANY_2, num_occurrences=1)
    signature = function_pb2.FunctionSignatureProto(argument=[any1, any2], return_type=any1, context_id=0)
    return [function_pb2.FunctionProto(name_path=[name], group="bigquery",
                                       mode=public_function_pb2.FunctionEnums.AGGREGATE, signature=[signature])
            for name in ("MAX_BY", "MIN_BY")]
