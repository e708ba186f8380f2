"""The base class of every generated contract model (hand-written; see [tool.datamodel-codegen]).

It closes one gap between Pydantic and the contract: Pydantic's lax datetime also accepts
numbers and numeric strings as Unix timestamps (`0`, `"0.5"`), which `format: date-time`
forbids. Every datetime field of every generated model is found from its annotation, so a
new date-time field in the contract is covered without anyone listing it.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

from pydantic import AwareDatetime, BaseModel, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

# RFC 3339 §5.6 `date-time`; the range of each part is left to the datetime parser.
_RFC3339_DATE_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})", re.ASCII
)


def is_rfc3339_date_time(value: object) -> bool:
    return isinstance(value, str) and _RFC3339_DATE_TIME.fullmatch(value) is not None


def _is_untyped_instant(value: object) -> bool:
    """Input that is neither absent, nor a datetime already, nor RFC 3339 text."""
    return value is not None and not isinstance(value, datetime) and not is_rfc3339_date_time(value)


def _mentions_datetime(annotation: Any) -> bool:
    if isinstance(annotation, type):
        # AwareDatetime is a marker class at run time, not a datetime subclass.
        return annotation is AwareDatetime or issubclass(annotation, datetime)
    if typing.get_origin(annotation) in (typing.Annotated, typing.Union, types.UnionType):
        return any(_mentions_datetime(arg) for arg in typing.get_args(annotation))
    return False


class ContractModel(BaseModel):
    _date_time_fields: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls._date_time_fields = tuple(
            field.alias or name
            for name, field in cls.model_fields.items()
            if _mentions_datetime(field.annotation)
        )

    @model_validator(mode="before")
    @classmethod
    def _date_times_are_rfc3339_text(cls, data: Any) -> Any:
        if not cls._date_time_fields or not isinstance(data, Mapping):
            return data
        errors = [
            InitErrorDetails(
                type=PydanticCustomError(
                    "datetime_type", "Input should be an RFC 3339 date-time string"
                ),
                loc=(name,),
                input=data[name],
            )
            for name in cls._date_time_fields
            if _is_untyped_instant(data.get(name))
        ]
        if errors:
            raise ValidationError.from_exception_data(cls.__name__, errors)
        return data
