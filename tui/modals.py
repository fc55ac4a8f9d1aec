"""Small modal screens: help, prompts (time, partition groups, reshard), choices, key lookup."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static


class HelpScreen(ModalScreen[None]):
    """Every key, from the app's own binding table (so it cannot drift)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark", "dismiss", "close")]

    def __init__(self, rows: Sequence[tuple[str, str]]) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=False, pad_edge=False)
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column()
        for key, description in self.rows:
            table.add_row(key, description)
        with VerticalScroll(id="help-box", classes="modal-box"):
            yield Static(Text("rcsim: keys (escape closes)", style="bold"))
            yield Static(table, id="help-table")


class PromptScreen(ModalScreen[str | None]):
    """One line of input; ``check`` returns an error message or None."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "cancel")]

    def __init__(
        self,
        title: str,
        value: str = "",
        hint: str = "",
        check: Callable[[str], str | None] | None = None,
    ) -> None:
        super().__init__()
        self.title_text = title
        self.value = value
        self.hint = hint
        self.check = check

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box"):
            yield Static(Text(self.title_text, style="bold"))
            yield Input(value=self.value, id="prompt-input")
            yield Static(Text(self.hint, style="dim"), id="prompt-hint")

    def on_mount(self) -> None:
        self.query_one("#prompt-input", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        if self.check is not None:
            error = self.check(value)
            if error:
                self.query_one("#prompt-hint", Static).update(Text(error, style="bold red"))
                return
        self.dismiss(value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ChoiceScreen(ModalScreen[str | None]):
    """Pick one option (arrow keys and enter, or the option's first letter)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "cancel")]

    def __init__(self, title: str, options: Sequence[tuple[str, str]]) -> None:
        super().__init__()
        self.title_text = title
        self.options = list(options)  # (value, label)

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box"):
            yield Static(Text(self.title_text, style="bold"))
            yield OptionList(*[label for _, label in self.options], id="choice-list")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.options[event.option_index][0])

    def on_key(self, event: events.Key) -> None:
        character = event.character
        for value, _ in self.options:
            if character and value.startswith(character):
                event.stop()  # the letter picks here; the app's binding must not see it
                self.dismiss(value)
                return

    def action_cancel(self) -> None:
        self.dismiss(None)


class BreakpointScreen(ModalScreen[set[str] | None]):
    """Tick the conditions that pause playback (space toggles, enter applies). Each row
    reads ``[x]`` or ``[ ]``, so on and off differ without colour."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "cancel"),
        Binding("enter", "apply", "apply", priority=True),
        Binding("space,x", "flip", "toggle", priority=True),
    ]

    def __init__(self, choices: dict[str, str], active: set[str]) -> None:
        super().__init__()
        self.choices = choices
        self.active = set(active)

    def row(self, key: str) -> str:
        return f"{'[x]' if key in self.active else '[ ]'} {self.choices[key]}"

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box"):
            yield Static(Text("Pause when… (space toggles, enter applies)", style="bold"))
            yield OptionList(*[self.row(key) for key in self.choices], id="breakpoints")

    def on_mount(self) -> None:
        options = self.query_one("#breakpoints", OptionList)
        options.highlighted = 0
        options.focus()

    def action_flip(self) -> None:
        options = self.query_one("#breakpoints", OptionList)
        index = options.highlighted
        if index is None:
            return
        key = list(self.choices)[index]
        self.active ^= {key}
        options.replace_option_prompt_at_index(index, self.row(key))

    def action_apply(self) -> None:
        self.dismiss(set(self.active))

    def action_cancel(self) -> None:
        self.dismiss(None)


class LookupScreen(ModalScreen[None]):
    """Type a key: its slot, hash tag, owner per truth and per node, and the client's reply
    (or a slot number: the app moves the slot cursor there)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss", "close")]

    def __init__(self, answer: Callable[[str], Text], key: str = "") -> None:
        super().__init__()
        self.answer = answer
        self.key = key

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="modal-box", id="lookup-box"):
            yield Static(
                Text("Look up a key, or a slot number to move the slot cursor", style="bold")
            )
            yield Input(value=self.key, placeholder="user:{42}:name", id="lookup-input")
            yield Static("", id="lookup-answer")

    def on_mount(self) -> None:
        self.query_one("#lookup-input", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.query_one("#lookup-answer", Static).update(self.answer(event.value))
