<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>CandidateBar</name>
    <message>
        <location filename="../hwime/ui/candidates.py" line="234"/>
        <source>key {0}, {1:.0%} likely</source>
        <translation>按键 {0}，可能性 {1:.0%}</translation>
    </message>
    <message>
        <location filename="../hwime/ui/candidates.py" line="235"/>
        <source>{0:.0%} likely</source>
        <translation>可能性 {0:.0%}</translation>
    </message>
    <message>
        <location filename="../hwime/ui/candidates.py" line="227"/>
        <source>merged</source>
        <translation>合并</translation>
    </message>
    <message>
        <location filename="../hwime/ui/candidates.py" line="227"/>
        <source>split</source>
        <translation>拆分</translation>
    </message>
</context>
<context>
    <name>LineCells</name>
    <message>
        <location filename="../hwime/ui/candidates.py" line="295"/>
        <source>{0}: click to see what else this character could be</source>
        <translation>{0}：点击查看这个字还可能是什么</translation>
    </message>
</context>
<context>
    <name>PadWindow</name>
    <message>
        <location filename="../hwime/ui/window.py" line="169"/>
        <source>hwime — handwriting</source>
        <translation>hwime — 手写输入</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="179"/>
        <source>Undo</source>
        <translation>撤销</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="180"/>
        <source>Remove the last stroke (Backspace, right click); right after a pick, bring its drawing back to pick another candidate</source>
        <translation>删去最后一笔（退格键、右键）；刚选字后按它，找回那次的笔迹，改选别的候选</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="182"/>
        <source>Clear</source>
        <translation>清除</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="182"/>
        <source>Start over (Esc)</source>
        <translation>重新开始（Esc）</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="183"/>
        <source>Send 1st</source>
        <translation>上屏首选</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="183"/>
        <source>Send the best candidate (Space)</source>
        <translation>发送第一个候选（空格）</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="184"/>
        <source>Switch between copying to the clipboard and typing into the focused window</source>
        <translation>在复制到剪贴板和输入到当前窗口之间切换</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="185"/>
        <source>Line</source>
        <translation>整行</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="186"/>
        <source>Write a whole phrase in a wide line (on) or one character in the square box (off)</source>
        <translation>在宽行里写一整句（开），或在方格里写一个字（关）</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="196"/>
        <source>Settings…</source>
        <translation>设置…</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="196"/>
        <source>Output, candidates, pen, model</source>
        <translation>输出、候选、笔、模型</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="211"/>
        <source>Recent:</source>
        <translation>最近：</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="281"/>
        <location filename="../hwime/ui/window.py" line="719"/>
        <source>Loading the model…</source>
        <translation>正在加载模型…</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="500"/>
        <source>Line: write a phrase, then pick the whole string; click a character below to fix it.</source>
        <translation>整行：写一句话，再选整串；点下面的字可以改正。</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="504"/>
        <source>Write one character in the box.</source>
        <translation>在方格里写一个字。</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="508"/>
        <source>Line: the character is the line&apos;s first; write the rest after it.</source>
        <translation>整行：这个字是这行的第一个字；在它后面写其余的字。</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="512"/>
        <source>The phrase stays a line: pick its string or Clear; then the box comes.</source>
        <translation>这句仍是整行：点选它的字串或清除，之后换回方框。</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="517"/>
        <source>Pick what character {0} should be.</source>
        <translation>选出第 {0} 个字应该是什么。</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="519"/>
        <source>Forgot what was learned of {0}; everything else learned stays.</source>
        <translation>已忘记 {0} 学到的笔迹；其他学到的都保留。</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="522"/>
        <source>Character {0} is now {1}; pick the string to send it.</source>
        <translation>第 {0} 个字已改为 {1}；选这一串即可发送。</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="389"/>
        <source>Recognition failed: {0}. Keep writing or clear to try again.</source>
        <translation>识别失败：{0}。继续写或清除后重试。</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="393"/>
        <source>Not done: {0}</source>
        <translation>没有做成：{0}</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="397"/>
        <source>the CPU</source>
        <translation>CPU</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="397"/>
        <source>the GPU (CUDA)</source>
        <translation>GPU（CUDA）</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="398"/>
        <source>{0} characters on {1}</source>
        <translation>{0} 个字，运行在 {1}</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="402"/>
        <source>Ready — {0}.</source>
        <translation>就绪 — {0}。</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="409"/>
        <source>CUDA is not available here; running on the CPU</source>
        <translation>这台电脑用不了 CUDA，改在 CPU 上运行</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="411"/>
        <source>{0} learned samples are of characters this model lacks</source>
        <translation>学到的 {0} 个样本是这个模型没有的字</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="416"/>
        <source>No recognizer: {0}</source>
        <translation>没有识别器：{0}</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="481"/>
        <source>{0} typed</source>
        <translation>已输入 {0}</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="481"/>
        <source>{0} copied to the clipboard</source>
        <translation>已复制 {0} 到剪贴板</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="593"/>
        <source>Write a phrase in the line; click a string or press 1–{0}, Space.</source>
        <translation>在行里写一句话；点击一串，或按 1–{0}、空格。</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="595"/>
        <source>Write a phrase in the line; click a string.</source>
        <translation>在行里写一句话；点选一串。</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="510"/>
        <source>The characters stay written over each other: pick their string or Clear; then the new mode comes.</source>
        <translation>这些字仍是叠写：点选它们的字串或清除，之后换成新的模式。</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="191"/>
        <source>叠写</source>
        <translation>叠写</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="192"/>
        <source>Overlap: write characters one over another in the square box, read as a string (on), or one character (off)</source>
        <translation>叠写：在方框里一个字叠着一个字写，读成一串（开），或只写一个字（关）</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="502"/>
        <source>Overlap: write each character over the last, then pick the whole string; click a character below to fix it.</source>
        <translation>叠写：每个字写在上一个字上面，再点选整串；点下面的字可以改它。</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="506"/>
        <source>Overlap: the character is the string&apos;s first; write the next over it.</source>
        <translation>叠写：这个字是这串的第一个字；在它上面写下一个。</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="597"/>
        <source>Write characters one over another; click a string or press 1–{0}, Space.</source>
        <translation>一个字叠着一个字写；点选一串，或按 1–{0}、空格。</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="598"/>
        <source>Write characters one over another; click a string.</source>
        <translation>一个字叠着一个字写；点选一串。</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="599"/>
        <source>Write a character; click a candidate or press 1–9, 0, Space.</source>
        <translation>写一个字；点选候选，或按 1–9、0、空格。</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="600"/>
        <source>Write a character; click a candidate.</source>
        <translation>写一个字；点选候选。</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="514"/>
        <source>The last drawing is back: pick the right candidate (the wrong one was already sent).</source>
        <translation>上次的笔迹回来了：选出正确的候选（错的那个已经发出）。</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="607"/>
        <source>{0} again</source>
        <translation>再发一次 {0}</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="615"/>
        <source>Send {0} again</source>
        <translation>再次发送 {0}</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="617"/>
        <source>Forget what was learned of {0} (samples kept: {1})</source>
        <translation>忘记 {0} 学到的笔迹（{1} 个样本）</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="631"/>
        <source>Mode: type — a click on a candidate types it into the window you were working in.</source>
        <translation>模式：输入 — 点选候选，就输入到你正在用的窗口。</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="633"/>
        <source>Mode: copy — a click on a candidate (or 1–9, 0, Space) copies it.</source>
        <translation>模式：复制 — 点选候选（或按 1–9、0、空格）即复制。</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="638"/>
        <source>Mode: type</source>
        <translation>模式：输入</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="638"/>
        <source>Mode: copy</source>
        <translation>模式：复制</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="498"/>
        <source>Nothing to send yet: write a character first.</source>
        <translation>还没有可发送的：先写一个字。</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="730"/>
        <source>Could not save settings ({0}); they apply until the pad closes.</source>
        <translation>无法保存设置（{0}）；在关闭前仍然有效。</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="0"/>
        <source>Backspace</source>
        <translation>退格</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="0"/>
        <source>Enter</source>
        <translation>回车</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="0"/>
        <source>{0} not pressed: {1}</source>
        <translation>{0} 未按下：{1}</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="0"/>
        <source>{0} pressed</source>
        <translation>已按{0}</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="0"/>
        <source>The last drawing is back and {0} was erased where it was typed: pick the right candidate.</source>
        <translation>上次的笔迹回来了，已输入的 {0} 已删除：选出正确的候选。</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="0"/>
        <source>The last drawing is back, but {0} stays where it was typed ({1}); ⌫ erases it.</source>
        <translation>上次的笔迹回来了，但已输入的 {0} 还在（{1}）；⌫ 可删除它。</translation>
    </message>
</context>
<context>
    <name>SettingsDialog</name>
    <message>
        <location filename="../hwime/ui/window.py" line="759"/>
        <source>hwime settings</source>
        <translation>hwime 设置</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="762"/>
        <source>copy to the clipboard</source>
        <translation>复制到剪贴板</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="762"/>
        <source>type into the focused window</source>
        <translation>输入到当前窗口</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="772"/>
        <source>auto (the GPU when there is one)</source>
        <translation>自动（有 GPU 就用 GPU）</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="772"/>
        <source>the CPU</source>
        <translation>CPU</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="773"/>
        <source>the GPU (CUDA)</source>
        <translation>GPU（CUDA）</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="777"/>
        <source>the bundled model</source>
        <translation>自带模型</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="783"/>
        <source>Output (copy to clipboard / type into the focused window)</source>
        <translation>输出（复制到剪贴板 / 输入到当前窗口）</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="784"/>
        <source>Candidates shown</source>
        <translation>候选个数</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="785"/>
        <source>Pen width (pixels)</source>
        <translation>笔宽（像素）</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="786"/>
        <source>Run the model on</source>
        <translation>模型运行在</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="787"/>
        <location filename="../hwime/ui/window.py" line="864"/>
        <source>Model bundle</source>
        <translation>模型文件</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="788"/>
        <source>Rank common characters first</source>
        <translation>常用字排在前面</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="790"/>
        <source>Rank by the characters sent just before</source>
        <translation>按刚发送的字排序</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="792"/>
        <source>Show pinyin under the candidates</source>
        <translation>在候选下显示拼音</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="794"/>
        <source>Offer continuations (associated words) after a pick</source>
        <translation>选字后提供联想词</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="796"/>
        <source>Learn my handwriting from my picks (kept on this computer)</source>
        <translation>从我的选择学习我的笔迹（只保存在这台电脑上）</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="799"/>
        <location filename="../hwime/ui/window.py" line="810"/>
        <source>as the system</source>
        <translation>跟随系统</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="800"/>
        <source>both (简/繁, kana and symbols too)</source>
        <translation>简繁都要（也有假名和符号）</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="804"/>
        <source>automatic (a clear face of the script)</source>
        <translation>自动（选一种清楚的字体）</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="823"/>
        <source>Script I write</source>
        <translation>我写的字（简体/繁体）</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="824"/>
        <source>Candidates&apos; font</source>
        <translation>候选的字体</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="825"/>
        <source>Language of the pad (from its next start)</source>
        <translation>界面语言（下次启动起生效）</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="826"/>
        <source>Forget what was learned (samples kept: {0})</source>
        <translation>忘记学到的笔迹（{0} 个样本）</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="833"/>
        <source>{0} (samples kept: {1})</source>
        <translation>{0}（{1} 个样本）</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="834"/>
        <source>Forget this character</source>
        <translation>忘记这个字</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="841"/>
        <source>Learned characters</source>
        <translation>学到的字</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="849"/>
        <source>Forgotten when you press OK</source>
        <translation>按“确定”后忘记</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="858"/>
        <source>Forgotten when you press OK: {0}</source>
        <translation>按“确定”后忘记：{0}</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="864"/>
        <source>hwime model (*.pt)</source>
        <translation>hwime 模型 (*.pt)</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="818"/>
        <source>{0} s</source>
        <translation>{0} 秒</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="818"/>
        <source>off</source>
        <translation>关</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="820"/>
        <source>Send the best candidate (or string) when the pen has rested this long, as a pick would; Undo right after takes it back</source>
        <translation>笔停下这么久后发送第一个候选（或整串），如同点选；随即撤销可取回</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="822"/>
        <source>Send after a pause</source>
        <translation>停笔后自动发送</translation>
    </message>
</context>
<context>
    <name>WarningBar</name>
    <message>
        <location filename="../hwime/ui/window.py" line="135"/>
        <source>Dismiss</source>
        <translation>关闭</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="135"/>
        <source>Hide these warnings</source>
        <translation>隐藏这些警告</translation>
    </message>
</context>
<context>
    <name>TypingKeys</name>
    <message>
        <location filename="../hwime/ui/keys.py" line="0"/>
        <source>Backspace: erase the character before the cursor</source>
        <translation>退格：删除光标前的字</translation>
    </message>
    <message>
        <location filename="../hwime/ui/keys.py" line="0"/>
        <source>Space</source>
        <translation>空格</translation>
    </message>
    <message>
        <location filename="../hwime/ui/keys.py" line="0"/>
        <source>Enter</source>
        <translation>回车</translation>
    </message>
</context>
</TS>
