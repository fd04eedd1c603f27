"""Help and usage errors of ``myself-i2i`` in the reader's language, clean at 80 columns.

Help strings in :mod:`myself_i2i.cli` are written ``"English. / 日本語。"``; when help is
shown, :func:`pick` keeps the half for the chosen language (``--lang``, ``MYSELF_I2I_LANG``
or the locale). Parameters get plain metavars (``IMAGE...``, ``PATH``, ``TEXT``) instead of
typer's internal labels, and Japanese text is wrapped by display width (a kanji takes two
columns). Only :mod:`typer` (and its vendored click) is imported: ``--help`` stays light.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from collections.abc import Sequence
from typing import Any, ClassVar

import typer
from typer._click.core import Context
from typer._click.formatting import HelpFormatter
from typer.core import TyperCommand, TyperGroup, TyperOption

from myself_i2i.i18n import Lang, default_lang, parse_lang

# Patterns stay strings: ``re`` compiles and caches each on first use, so a command that
# prints no help and makes no usage error compiles none of them (~6 ms of every start).
_CJK = r"[\u3000-\u30ff\u3400-\u9fff\uff00-\uffef]"
_SEP = " / "

# The language chosen on this command line (global or per-command --lang); None = default.
_chosen: Lang | None = None


def current_lang() -> Lang:
    """The language of this run: ``--lang``, else ``MYSELF_I2I_LANG`` or the locale."""
    return _chosen if _chosen is not None else default_lang()


def choose_lang(value: str | None) -> Lang | None:
    """Record a ``--lang`` value (None resets); a bad value is a usage error."""
    global _chosen
    if value is None:
        _chosen = None
        return None
    from myself_i2i.errors import ConfigError

    try:
        _chosen = parse_lang(value, strict=True)
    except ConfigError as e:
        raise typer.BadParameter(e.message(default_lang())) from None
    return _chosen


def lang_option_callback(ctx: Context, param: Any, value: str | None) -> Any:
    """Click callback of a command's ``--lang``: sets the language for its help and output.

    A bad value is left to the command, which reports it as one line (ConfigError).
    """
    if value is not None:
        with contextlib.suppress(typer.BadParameter):
            choose_lang(value)
    return value


def global_lang_callback(ctx: Context, param: Any, value: str | None) -> Any:
    """Click callback of the global ``--lang`` (runs on every command line: None resets).

    Also the ``--lang`` added to commands that do not declare one: there None keeps the
    global choice.
    """
    if value is not None or ctx.parent is None:
        choose_lang(value)
    return value


def pick(text: str | None, lang: Lang) -> str | None:
    """The ``lang`` half of ``"English / 日本語"`` text, paragraph by paragraph.

    A paragraph splits at its last ``" / "`` whose left side has no Japanese and whose right
    side has some (English may itself contain ``PNG / JPEG``); text with no such split is
    returned as it is.
    """
    if not text:
        return text
    out = []
    for para in text.split("\n\n"):
        cut = -1
        for m in re.finditer(re.escape(_SEP), para):
            i = m.start()
            if not re.search(_CJK, para[:i]) and re.search(_CJK, para[i + len(_SEP) :]):
                cut = i
        if cut < 0:
            out.append(para)
        else:
            out.append(para[:cut].strip() if lang == "en" else para[cut + len(_SEP) :].strip())
    return "\n\n".join(out)


def width(s: str) -> int:
    """Display width: East Asian wide / full-width characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)


_TOKEN = (
    r"[\u3000-\u30ff\u3400-\u9fff\uff00-\uffef]|[^\s\u3000-\u30ff\u3400-\u9fff\uff00-\uffef]+|\s+"
)
_NO_LINE_START = set("。、，．）」』】〕・：；！？ー") | set(".,:;)]!?")


def wrap(text: str, limit: int) -> list[str]:
    """Wrap mixed Japanese / English text to ``limit`` columns.

    Breaks at spaces and between Japanese characters; never starts a line with closing
    punctuation (the character before it moves down too). Words longer than a line stay
    whole.
    """
    lines: list[list[str]] = [[]]
    for tok in re.findall(_TOKEN, text):
        line = lines[-1]
        if tok.isspace():
            if line:
                line.append(" ")
            continue
        if line and width("".join(line).rstrip()) + width(tok) > limit:
            carry: list[str] = []
            if tok[0] in _NO_LINE_START and len(line) > 1:
                carry = [line.pop()]  # keep closing punctuation with what it closes
            lines.append(carry)
        lines[-1].append(tok)
    return [s for s in ("".join(line).strip() for line in lines) if s]


class _JaFormatter(HelpFormatter):
    """Click's formatter with Japanese headings and display-width wrapping."""

    _HEADINGS: ClassVar[dict[str, str]] = {
        "Options": "オプション",
        "Arguments": "引数",
        "Commands": "コマンド",
    }

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, "使い方: " if prefix is None else prefix)

    def write_heading(self, heading: str) -> None:
        super().write_heading(self._HEADINGS.get(heading, heading))

    def write_text(self, text: str) -> None:
        indent = " " * self.current_indent
        for i, para in enumerate(text.split("\n\n")):
            if i:
                self.write("\n")
            for line in wrap(" ".join(para.split()), max(self.width - self.current_indent, 20)):
                self.write(f"{indent}{line}\n")

    def write_dl(
        self, rows: Sequence[tuple[str, str]], col_max: int = 30, col_spacing: int = 2
    ) -> None:
        rows = [(a, _ja_extras(b)) for a, b in rows]
        first_col = min(max((len(a) for a, _ in rows), default=0), col_max) + col_spacing
        indent = " " * self.current_indent
        for first, second in rows:
            self.write(f"{indent}{first}")
            if not second:
                self.write("\n")
                continue
            if len(first) <= first_col - col_spacing:
                self.write(" " * (first_col - len(first)))
            else:
                self.write("\n" + " " * (first_col + self.current_indent))
            lines = wrap(second, max(self.width - first_col - self.current_indent - 1, 10))
            self.write(f"{lines[0] if lines else ''}\n")
            for line in lines[1:]:
                self.write(f"{'':>{first_col + self.current_indent}}{line}\n")


def _ja_extras(text: str) -> str:
    out = (
        text.replace("[default: ", "［既定値: ")
        .replace("[required]", "［必須］")
        .replace("; required]", "; 必須］")
        .replace("Show this message and exit.", "このヘルプを表示して終了します。")
        .replace("Show the version.", "バージョンを表示します。")
    )
    if "［既定値: " in out and out.endswith("]"):
        out = out[:-1] + "］"
    return out


def _metavar(p: Any) -> str | None:
    if p.param_type_name == "argument":
        name = (p.name or "value").upper()
        if p.nargs != 1:
            return (name[:-1] if name.endswith("S") else name) + "..."
        return name
    if getattr(p, "is_flag", False) or getattr(p, "count", False):
        return None
    t = p.type
    kind = type(t).__name__  # typer's vendored click types, by name
    if kind == "Choice":
        return None  # click shows the choices
    if kind in ("TyperPath", "Path", "File"):
        return "PATH"
    if kind in ("IntParamType", "IntRange"):
        return "N"
    if kind in ("FloatParamType", "FloatRange"):
        return "NUMBER"
    return "TEXT"


def localize(cmd: Any, lang: Lang) -> None:
    """Pick one language in ``cmd``'s help and give its parameters plain metavars."""
    cmd.help = pick(cmd.help, lang)
    # the usage line's placeholders, as click writes them in English
    cmd.options_metavar = "[オプション]" if lang == "ja" else "[OPTIONS]"
    if hasattr(cmd, "subcommand_metavar"):
        cmd.subcommand_metavar = "コマンド [引数]..." if lang == "ja" else "COMMAND [ARGS]..."
    if cmd.short_help:
        cmd.short_help = pick(cmd.short_help, lang)
    elif lang == "ja" and cmd.help:
        first = cmd.help.split("\n\n")[0]
        cmd.short_help = first.split("。")[0] + ("。" if "。" in first else "")
    for p in cmd.params:
        help_ = getattr(p, "help", None)
        if help_:
            p.help = pick(help_, lang)
        if p.metavar is None:
            p.metavar = _metavar(p)
        if getattr(p, "is_flag", False):
            p.show_default = False
    for sub in getattr(cmd, "commands", {}).values():
        localize(sub, lang)


def _usage_pieces(cmd: Any, ctx: Context) -> list[str]:
    rv = [cmd.options_metavar] if cmd.options_metavar else []
    for p in cmd.get_params(ctx):
        if p.param_type_name == "argument":
            m = p.metavar or (p.name or "").upper()
            rv.append(m if p.required else f"[{m}]")
    return rv


def _argv_lang() -> Lang | None:
    """``--lang`` given after ``--help`` (``myself-i2i sign --help --lang ja``)."""
    import sys

    args = sys.argv[1:]
    for i, arg in enumerate(args):
        value = args[i + 1] if arg == "--lang" and i + 1 < len(args) else None
        if arg.startswith("--lang="):
            value = arg.split("=", 1)[1]
        if value and value.strip().lower()[:2] in ("en", "ja"):
            return "ja" if value.strip().lower().startswith("ja") else "en"
    return None


def _help(cmd: Any, ctx: Context) -> str:
    # --help is eager: a --lang after it has not been parsed yet, so look at the command line
    lang = _chosen or _argv_lang() or default_lang()
    localize(cmd, lang)
    cls = _JaFormatter if lang == "ja" else HelpFormatter
    formatter = cls(width=ctx.terminal_width, max_width=ctx.max_content_width)
    cmd.format_help(ctx, formatter)
    return formatter.getvalue().rstrip("\n")


def _plain_metavars(cmd: Any) -> None:
    for p in cmd.params:
        if p.metavar is None:
            p.metavar = _metavar(p)


class Command(TyperCommand):
    """A command whose help is in one language with plain metavars."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not any(p.name == "lang" for p in self.params):
            # every command takes --lang (verify and inspect declare their own)
            self.params.append(
                TyperOption(
                    param_decls=["--lang"],
                    metavar="ja|en",
                    expose_value=False,
                    is_eager=True,
                    callback=global_lang_callback,
                    help="Language of help and messages. / ヘルプとメッセージの言語",
                )
            )
        _plain_metavars(self)  # also what usage errors name ("Missing argument 'IMAGE...'")

    def get_help(self, ctx: Context) -> str:
        return _help(self, ctx)

    def collect_usage_pieces(self, ctx: Context) -> list[str]:
        return _usage_pieces(self, ctx)


class Group(TyperGroup):
    """A group whose help (and its commands' short help) is in one language."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _plain_metavars(self)

    def get_help(self, ctx: Context) -> str:
        return _help(self, ctx)

    def get_usage(self, ctx: Context) -> str:
        localize(self, current_lang())
        return super().get_usage(ctx)


# click's own usage errors, in Japanese (matched on click 8's English wording).
_CLICK_JA: tuple[tuple[str, str], ...] = (
    (r"^Missing option '([^']+)'\.?$", r"オプション \1 が必要です。"),
    (r"^Missing argument '([^']+)'\.?$", r"引数 \1 が必要です。"),
    (r"^Missing parameter: (.+)$", r"\1 が必要です。"),
    (
        r"^No such option: (\S+)(?: Did you mean (.+)\?| \(Possible options: (.+)\))?$",
        r"オプション \1 はありません。",
    ),
    (r"^No such command '([^']+)'\.(?: Did you mean (.+)\?)?$", r"コマンド \1 はありません。"),
    (r"^Option '([^']+)' requires an argument\.$", r"オプション \1 には値が必要です。"),
    (
        r"^Option '([^']+)' requires (\d+) arguments\.$",
        r"オプション \1 には値が \2 個必要です。",
    ),
    (r"^Got unexpected extra arguments? \((.+)\)$", r"余分な引数があります（\1）。"),
    (r"^Invalid value for '?([^':]+)'?: (.+)$", r"\1 の値が正しくありません: \2"),
    (r"^Missing command\.$", r"コマンドを指定してください。"),
)
_CLICK_DETAIL_JA = (
    (r"^Path '([^']+)' does not exist\.$", r"パス \1 は存在しません。"),
    (r"^File '([^']+)' does not exist\.$", r"ファイル \1 は存在しません。"),
    (r"^Directory '([^']+)' does not exist\.$", r"フォルダ \1 は存在しません。"),
    (r"^'([^']+)' is not a valid integer\.?$", r"\1 は整数ではありません。"),
    (r"^'([^']+)' is not a valid float\.?$", r"\1 は数値ではありません。"),
    (r"^'([^']+)' is not one of (.+)\.$", r"\1 は \2 のどれでもありません。"),
    (r"^(\S+) is not in the range (\S+)\.$", r"\1 は範囲 \2 の外です。"),
)


def translate_usage_error(message: str, lang: Lang) -> str:
    """Click's English usage-error ``message`` in ``lang`` (unknown wording stays as is)."""
    if lang != "ja":
        return message
    for pattern, repl in _CLICK_JA:
        m = re.match(pattern, message)
        if m:
            out = m.expand(repl)
            if pattern.startswith("^No such"):
                if m.group(2):
                    out += f"もしかして {m.group(2)}？"
                if m.re.groups > 2 and m.group(3):
                    out += f"候補: {m.group(3)}"
            if pattern.startswith("^Invalid value"):
                detail = m.group(2)
                for dp, dr in _CLICK_DETAIL_JA:
                    dm = re.match(dp, detail)
                    if dm:
                        out = f"{m.group(1)} の値が正しくありません: {dm.expand(dr)}"
                        break
            return out
    return message
