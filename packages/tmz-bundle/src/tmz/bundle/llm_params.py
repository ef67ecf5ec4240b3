"""MediaPipe's ``LlmParameters`` message (the METADATA entry of a ``.task``), built with protobuf's descriptor API.

mediapipe 1.x on PyPI no longer ships its genai bundler or the generated module, so the subset of
``mediapipe/tasks/cc/genai/inference/proto/{llm_params,prompt_template}.proto`` that a ``.task`` needs is
declared here with the upstream package, message names and field numbers (wire-compatible with the
C++ readers in MediaPipe and LiteRT-LM), in a private descriptor pool.
"""

from __future__ import annotations

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_PACKAGE = "odml.infra.proto"
_F = descriptor_pb2.FieldDescriptorProto


def _field(name: str, number: int, kind: int, label: int = _F.LABEL_OPTIONAL, **kw) -> _F:
    return _F(name=name, number=number, type=kind, label=label, **kw)


def _file() -> descriptor_pb2.FileDescriptorProto:
    f = descriptor_pb2.FileDescriptorProto(
        name="mediapipe/tasks/cc/genai/inference/proto/llm_params.proto", package=_PACKAGE, syntax="proto3"
    )
    f.message_type.add(
        name="PromptTemplate",
        field=[
            _field("session_prefix", 1, _F.TYPE_STRING),
            _field("prompt_prefix", 2, _F.TYPE_STRING),
            _field("prompt_suffix", 3, _F.TYPE_STRING),
        ],
    )
    templates = f.message_type.add(name="PromptTemplates")
    for i, role in enumerate(("user_template", "model_template", "system_template")):
        # proto3 `optional` fields: each sits alone in a synthetic oneof named after it
        templates.oneof_decl.add(name=f"_{role}")
        templates.field.append(
            _field(role, i + 1, _F.TYPE_MESSAGE, type_name=f".{_PACKAGE}.PromptTemplate", oneof_index=i,
                   proto3_optional=True)
        )  # fmt: skip
    params = f.message_type.add(name="LlmParameters")
    params.oneof_decl.add(name="start_token_union")
    params.oneof_decl.add(name="_prompt_templates")
    params.field.extend(
        [
            _field("vocab_size", 2, _F.TYPE_INT32),
            _field("start_token_id", 4, _F.TYPE_INT32, oneof_index=0),
            _field("stop_tokens", 5, _F.TYPE_STRING, _F.LABEL_REPEATED),
            _field("start_token", 6, _F.TYPE_STRING, oneof_index=0),
            _field("prompt_template", 8, _F.TYPE_MESSAGE, type_name=f".{_PACKAGE}.PromptTemplate"),
            _field("prompt_templates", 17, _F.TYPE_MESSAGE, type_name=f".{_PACKAGE}.PromptTemplates",
                   oneof_index=1, proto3_optional=True),
        ]
    )  # fmt: skip
    return f


_POOL = descriptor_pool.DescriptorPool()
_POOL.Add(_file())
LlmParameters = message_factory.GetMessageClass(_POOL.FindMessageTypeByName(f"{_PACKAGE}.LlmParameters"))
